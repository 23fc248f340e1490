package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.EventLoop;
import java.net.InetSocketAddress;
import java.util.function.BiConsumer;

/**
 * What an {@link ExternalCheck} sees of a request, and where it may send side calls: made by the connection
 * (HTTP/1.1) or stream (HTTP/2) for one check. Read on {@link #loop} only, while the request waits.
 *
 * @param headers        every request header field as the connection manager left it, in order (an HTTP/2 request
 *                       without the codec's conversion fields: x-http2-*, host, transfer-encoding)
 * @param endOfStream    the request has no body (HTTP/1.1: no chunks, no non-zero content-length; HTTP/2: END_STREAM
 *                       on its head or content-length 0)
 * @param remoteIp       the downstream address (the peer, or the trusted x-forwarded-for entry)
 * @param tls            the downstream connection is TLS
 * @param peerPrincipal  the verified client certificate's SPIFFE URI SAN, or null
 */
public record CheckedRequest(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot, RequestHead head,
    HeaderSource headers, boolean endOfStream, String remoteIp, InetSocketAddress remoteAddress, InetSocketAddress localAddress,
    boolean tls, String peerPrincipal) {

  /** The request's header fields, visited in order (a name may repeat). */
  @FunctionalInterface
  public interface HeaderSource {
    void forEach(BiConsumer<String, String> visitor);
  }
}
