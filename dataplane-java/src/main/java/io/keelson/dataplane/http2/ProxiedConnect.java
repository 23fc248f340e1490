package io.keelson.dataplane.http2;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.codec.http2.HttpConversionUtil.ExtensionHeaderNames;

/**
 * A CONNECT that a connect_matcher route without connect_config proxies (Envoy's default), as its upstream gets it
 * once the forwarding rules have run on it: to an HTTP/1.1 cluster the request line {@code CONNECT host:port HTTP/1.1}
 * with {@code Host}; to an HTTP/2 cluster (RFC 9113 §8.5) HEADERS with {@code :method CONNECT} and {@code :authority}
 * only among the pseudo-headers (no {@code :scheme}, no {@code :path}), without END_STREAM. Netty's HTTP/2-to-HTTP/1
 * conversion headers ({@code x-http2-*}) never go upstream. Stateless.
 */
final class ProxiedConnect {
  private ProxiedConnect() {}

  /** {@code request} (a CONNECT whose URI is its authority) made ready for an HTTP/1.1 upstream; returns it. */
  static HttpRequest toHttp1(HttpRequest request) {
    for (ExtensionHeaderNames n : ExtensionHeaderNames.values()) {
      request.headers().remove(n.text());
    }
    if (!request.headers().contains(HttpHeaderNames.HOST)) {
      request.headers().set(HttpHeaderNames.HOST, request.uri());
    }
    return request;
  }

  /** The HEADERS frame (no END_STREAM) of {@code request} for an HTTP/2 upstream; the authority is its Host. */
  static Http2HeadersFrame toHttp2(HttpRequest request) {
    String host = request.headers().get(HttpHeaderNames.HOST);
    Http2Headers h = new DefaultHttp2Headers().method("CONNECT").authority(host != null ? host : request.uri());
    HttpConversionUtil.toHttp2Headers(request.headers(), h); // connection-specific fields and Host left out
    for (ExtensionHeaderNames n : ExtensionHeaderNames.values()) {
      h.remove(n.text());
    }
    return new DefaultHttp2HeadersFrame(h, false);
  }
}
