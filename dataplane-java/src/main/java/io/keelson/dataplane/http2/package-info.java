/**
 * HTTP/2 on the socket path: h2c with prior knowledge on HTTP listeners (and {@code h2} after ALPN,
 * through {@link io.keelson.dataplane.http2.Http2ServerSupport#configure}), one {@code StreamProxy}
 * per stream routed on the same pipeline as HTTP/1.1, upstreams over HTTP/1.1 or multiplexed HTTP/2,
 * gRPC-aware local replies and deadlines, and the abuse limits. See docs/protocols-http2.md.
 */
package io.keelson.dataplane.http2;
