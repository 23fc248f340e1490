package io.keelson.dataplane.filter;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import java.util.function.Supplier;

/**
 * Where the filters that rewrite a request and its response both ways (gRPC-Web, the gRPC-JSON transcoder) put their
 * handler: in an upstream HTTP/2 stream channel's pipeline right after its HTTP-object codec, so the HTTP/1.1 and
 * HTTP/2 downstream paths both go through it. Stateless.
 */
public final class UpstreamStreamCodecs {
  private UpstreamStreamCodecs() {}

  /**
   * Adds {@code handler}'s handler as {@code name} after {@code stream}'s HTTP-object codec, before anything is
   * written; false (nothing done, nothing made) when {@code stream} is not an HTTP/2 stream (an HTTP/1.1 cluster). On
   * the stream's event loop.
   */
  public static boolean addAfterObjectCodec(Channel stream, String name, Supplier<ChannelHandler> handler) {
    ChannelHandlerContext codec = stream.pipeline().context(Http2StreamFrameToHttpObjectCodec.class);
    if (codec == null) {
      return false;
    }
    stream.pipeline().addAfter(codec.name(), name, handler.get());
    return true;
  }
}
