package io.keelson.dataplane.http1;

import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Listener;
import io.keelson.dataplane.http1.codec.Http1ParseException;
import io.keelson.dataplane.http1.codec.Http1Response;
import io.keelson.dataplane.http1.codec.Http1ResponseParser;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;

/**
 * One upstream connection: parses responses and reports them to the exchange that owns the
 * connection at the moment, or sits idle in its event loop's pool. Event-loop confined.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter implements Http1Listener<Http1Response> {
  private final UpstreamPool pool;
  private final UpstreamPool.Endpoint endpoint;
  private final ServingCluster cluster;
  private final Http1ResponseParser parser;
  private Channel channel;
  /** The downstream exchange using this connection, or null while idle. */
  private DownstreamHandler owner;
  private boolean counted;
  private boolean informational;
  private boolean responseKeepAlive;
  /** When the connection opened and when it last went idle in the pool (System.nanoTime). */
  private long openedNanos;
  /** Exchanges this connection has carried, for the cluster's max_requests_per_connection. */
  private int exchanges;
  long idleSinceNanos;

  /** The circuit-breaker resources whose connection slot this connection holds, or null. */
  io.keelson.dataplane.resilience.CircuitBreakers.Resources breaker;

  UpstreamHandler(UpstreamPool pool, UpstreamPool.Endpoint endpoint, ServingCluster cluster) {
    this.pool = pool;
    this.endpoint = endpoint;
    this.cluster = cluster;
    this.parser = new Http1ResponseParser(this);
  }

  Channel channel() {
    return channel;
  }

  Http1ResponseParser parser() {
    return parser;
  }

  UpstreamPool.Endpoint endpoint() {
    return endpoint;
  }

  ServingCluster cluster() {
    return cluster;
  }

  /** Binds the connection to an exchange that will send a request with {@code method}. */
  void attach(DownstreamHandler owner, String method) {
    this.owner = owner;
    exchanges++;
    parser.expectResponseTo(method);
    parser.resume();
  }

  /** True when the last response allows the connection to carry another exchange. */
  boolean reusable() {
    int max = cluster.config().maxRequestsPerConnection();
    return responseKeepAlive && (max == 0 || exchanges < max);
  }

  /**
   * The exchange is done with the connection: back to the pool, or closed. Bytes already buffered
   * past the response would be taken for the next response (a desync), so such a connection is closed.
   */
  void detach(boolean reusable) {
    owner = null;
    channel.config().setAutoRead(true);
    if (reusable && channel.isActive() && parser.bufferedBytes() == 0) {
      pool.release(this);
    } else {
      channel.close();
    }
  }

  /** When the idle connection must close: idle_timeout after it went idle, or its max_connection_duration. */
  long idleDeadline() {
    long deadline = Long.MAX_VALUE;
    long idle = cluster.config().idleTimeout().toNanos();
    if (idle > 0) {
      deadline = idleSinceNanos + idle;
    }
    long maxAge = cluster.config().maxConnectionDuration().toNanos();
    if (maxAge > 0) {
      deadline = Math.min(deadline, openedNanos + maxAge);
    }
    return deadline;
  }

  /** True when the connection is older than the cluster's max_connection_duration. */
  boolean expired(long now) {
    long maxAge = cluster.config().maxConnectionDuration().toNanos();
    return maxAge > 0 && now - openedNanos >= maxAge;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    channel = ctx.channel();
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    openedNanos = System.nanoTime();
    counted = true;
    cluster.stats().cxActive.increment();
    ctx.fireChannelActive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (owner == null) {
      // Bytes on an idle connection: the upstream broke HTTP/1.1 framing; never reuse it.
      ((ByteBuf) msg).release();
      ctx.close();
      return;
    }
    parser.feed((ByteBuf) msg);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.flushDownstream();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (owner != null) {
      owner.onUpstreamWritabilityChanged(ctx.channel().isWritable());
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (counted) {
      cluster.stats().cxActive.decrement();
    }
    DownstreamHandler o = owner;
    if (o == null) {
      pool.remove(this);
    } else {
      parser.onInputClosed();
      // onInputClosed completes a read-until-close response; if the exchange is still attached, the
      // connection died mid-exchange.
      if (owner != null) {
        owner = null;
        // An HTTP/2 cluster's stream (Http1OverHttp2) reset by the upstream carries its RST_STREAM code.
        o.onUpstreamReset(io.keelson.dataplane.http2.Http1OverHttp2.resetCode(ctx.channel()));
      }
    }
    parser.close();
  }

  /** A FIN from the upstream; only a tunnel allows half-closure ({@link UpgradeTunnel#passFin}). */
  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
      Channel peer = owner != null ? owner.tunnelPeer() : null;
      if (peer != null) {
        UpgradeTunnel.passFin(ctx.channel(), peer);
      } else {
        ctx.close();
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // I/O errors surface as channelInactive right after; nothing to add here but closing.
    ctx.close();
  }

  // ---- Http1ResponseParser.Listener

  @Override
  public void onHead(Http1Response response) {
    informational = response.informational();
    responseKeepAlive = response.keepAlive();
    if (owner == null) {
      channel.close();
      return;
    }
    owner.onResponseHead(response);
  }

  @Override
  public void onBody(ByteBuf content) {
    if (owner == null) {
      content.release();
      return;
    }
    owner.onResponseBody(content);
  }

  @Override
  public void onComplete(Http1Headers trailers) {
    if (informational) {
      parser.resume(); // 100 Continue and friends: the final response follows
      return;
    }
    DownstreamHandler o = owner;
    if (o != null) {
      o.onResponseComplete(trailers);
    }
  }

  @Override
  public void onError(Http1ParseException e) {
    DownstreamHandler o = owner;
    owner = null;
    channel.close();
    if (o != null) {
      o.onUpstreamProtocolError(e);
    }
  }
}
