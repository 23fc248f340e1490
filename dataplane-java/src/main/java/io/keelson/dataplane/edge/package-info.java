/**
 * Who the downstream is and what it may ask for, as Envoy's connection manager decides it before routing
 * ({@code ConnectionManagerUtility::mutateRequestHeaders}): the downstream address (the peer, or an
 * x-forwarded-for entry under use_remote_address / xff_num_trusted_hops), whether the request is internal
 * ({@code internal_address_config}), x-forwarded-for / x-forwarded-proto, x-envoy-internal,
 * x-envoy-external-address, and the x-envoy-* request headers an external client may not set. Used by the
 * HTTP/1.1 and HTTP/2 paths alike. See docs/security.md.
 */
package io.keelson.dataplane.edge;
