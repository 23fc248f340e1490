/**
 * The HTTP/1.1 reverse proxy on the socket path: one {@link io.keelson.dataplane.http1.DownstreamHandler}
 * per client connection, upstream connections pooled per event loop, bodies streamed with
 * backpressure both ways. Everything for a connection runs on its event loop; only the routing decision
 * may come from a pipeline thread, and it is handed back to the event loop.
 */
package io.keelson.dataplane.http1;
