package io.keelson.dataplane.http2;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

/**
 * {@code Expect: 100-continue} on an HTTP/2 client stream, handled the way Envoy does by default
 * ({@code proxy_100_continue: false}): the proxy answers {@code 100 Continue} itself as soon as it has
 * the request head, and removes the header, so neither an HTTP/1.1 nor an HTTP/2 upstream sees it and
 * no upstream 1xx has to be relayed. A request that already ended with its head gets no 100 (there is
 * no body to ask for). On the stream's event loop.
 */
final class ExpectContinue {
  private ExpectContinue() {}

  static void answer(Channel down, HttpRequest request, boolean requestEndedWithHead) {
    if (!request.headers().contains(HttpHeaderNames.EXPECT)) {
      return;
    }
    boolean expects = HttpUtil.is100ContinueExpected(request);
    request.headers().remove(HttpHeaderNames.EXPECT);
    if (expects && !requestEndedWithHead) {
      // informational: Http2StreamFrameToHttpObjectCodec sends it as a HEADERS frame without END_STREAM
      down.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE, Unpooled.EMPTY_BUFFER));
    }
  }
}
