package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.EventLoop;

/**
 * What a {@link ResponseCheck} sees of an upstream's response head, and where it may send side calls. Read on
 * {@link #loop} only, while the response waits.
 *
 * @param headers     the response's header fields as the upstream sent them, in order (no pseudo-headers)
 * @param endOfStream the response has no body
 */
public record CheckedResponse(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot, int status,
    CheckedRequest.HeaderSource headers, boolean endOfStream) {}
