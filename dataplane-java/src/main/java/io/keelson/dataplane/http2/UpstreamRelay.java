package io.keelson.dataplane.http2;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;

/**
 * The last handler of an upstream channel (an HTTP/1.1 connection, or one HTTP/2 stream): hands what
 * the upstream sends to the exchange that owns the channel now. Event-loop confined.
 */
final class UpstreamRelay extends ChannelInboundHandlerAdapter {
  private UpstreamOwner owner;
  private long resetCode = -1;
  /**
   * The breaker whose connection slot this HTTP/1.1 connection holds (null for an HTTP/2 stream): the
   * connection is closed rather than pooled while requests wait for a slot.
   */
  io.keelson.dataplane.resilience.CircuitBreakers.Resources breaker;

  UpstreamRelay(UpstreamOwner owner) {
    this.owner = owner;
  }

  void owner(UpstreamOwner owner) {
    this.owner = owner;
  }

  UpstreamOwner owner() {
    return owner;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    UpstreamOwner o = owner;
    if (o == null || !(msg instanceof HttpObject h)) {
      ReferenceCountUtil.release(msg);
      if (o == null) {
        ctx.close(); // bytes on an idle HTTP/1.1 connection: never reuse it
      }
      return;
    }
    o.onUpstreamRead(h);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.onUpstreamReadComplete();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.onUpstreamWritabilityChanged(ctx.channel().isWritable());
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof Http2ResetFrame reset) {
      resetCode = reset.errorCode();
    }
    ReferenceCountUtil.release(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    UpstreamOwner o = owner;
    owner = null;
    if (o != null) {
      o.onUpstreamClosed(resetCode);
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }
}
