package io.keelson.dataplane.http2;

import io.keelson.dataplane.http1.ProxyContext;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * What every stream of one HTTP/2 downstream connection shares: the proxy, the listener's name, the
 * event loop's upstream channels and the stream idle timeout. Immutable.
 */
record ServerStreams(ProxyContext context, String listenerName, FastThreadLocal<UpstreamChannels> upstreams,
    long streamIdleNanos) {}
