package io.keelson.dataplane.config;

import io.keelson.dataplane.route.RouteMatch;

/** One Envoy Route: a match and what to do. Immutable. */
public record RouteEntry(
    String name,
    RouteMatch match,
    RouteAction action,
    HeaderMutations requestHeaders,
    HeaderMutations responseHeaders) {}
