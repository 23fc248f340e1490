package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.Http2Options;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Promise;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * One multiplexed h2c connection to an upstream endpoint. Streams asked for while it connects wait;
 * it takes at most min(cluster max_concurrent_streams, the peer's SETTINGS_MAX_CONCURRENT_STREAMS)
 * streams, and none after a GOAWAY. Once no stream has been open for the cluster's idle timeout
 * ({@code common_http_protocol_options.idle_timeout}, Envoy's default 1 h) it closes itself (GOAWAY,
 * then close); after max_requests_per_connection streams, or past max_connection_duration, it takes no more and
 * closes when the last ends. With
 * {@code connection_keepalive} it sends a PING every interval and closes the
 * connection when an ACK takes longer than the timeout. Event-loop confined.
 */
final class H2UpstreamConnection {
  private final Http2Options options;
  private Http2FrameCodec codec;
  private Channel parent;
  private boolean connected;
  private boolean goingAway;
  /** Streams open or being opened. */
  private int streams;
  /** Streams ever opened, for the cluster's max_requests_per_connection (0: no limit). */
  private int opened;
  private final int maxStreamsTotal;
  private final ArrayDeque<Waiter> waiting = new ArrayDeque<>();

  private record Waiter(java.util.function.Supplier<io.netty.channel.ChannelHandler[]> tail, Promise<Channel> promise) {}

  private final long idleNanos;
  /** Told on the event loop each time a stream ends (a slot for a request waiting as pending), or null. */
  Runnable onStreamEnd;
  /** When the stream count last dropped to zero; a scheduled idle check only acts if it is still this one's. */
  private long idleSince;
  private final long maxAgeNanos;
  /** Past max_connection_duration: no new streams, closed when the last one ends. */
  private boolean aged;
  /** Content of the PING whose ACK is awaited, or 0 when none is. */
  private long pingAwaited;
  private long pingCount;

  H2UpstreamConnection(Http2Options options) {
    this(options, java.time.Duration.ZERO, 0, java.time.Duration.ZERO);
  }

  /**
   * @param idleTimeout     close after this long without streams; ZERO for never
   * @param maxStreamsTotal streams this connection carries in all (max_requests_per_connection), then it takes no more
   *                        and closes when its last one ends; 0 for no limit
   * @param maxAge          max_connection_duration: from then on it takes no new stream and closes when its last one
   *                        ends (at once when it has none); ZERO for no limit
   */
  H2UpstreamConnection(Http2Options options, java.time.Duration idleTimeout, int maxStreamsTotal,
      java.time.Duration maxAge) {
    this.options = options;
    this.idleNanos = idleTimeout.toNanos();
    this.maxStreamsTotal = maxStreamsTotal;
    this.maxAgeNanos = maxAge.toNanos();
  }

  private boolean spent() {
    return aged || (maxStreamsTotal > 0 && opened >= maxStreamsTotal);
  }

  private void startAgeLimit() {
    if (maxAgeNanos <= 0) {
      return;
    }
    var task = parent.eventLoop().schedule(() -> {
      aged = true;
      if (streams == 0 && parent.isOpen()) {
        goingAway = true;
        parent.close(); // GOAWAY, then close
      }
    }, maxAgeNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    parent.closeFuture().addListener(x -> task.cancel(false));
  }

  private void startKeepalive() {
    long interval = options.keepaliveInterval().toNanos();
    if (interval <= 0) {
      return;
    }
    var task = parent.eventLoop().scheduleAtFixedRate(this::ping, interval, interval, java.util.concurrent.TimeUnit.NANOSECONDS);
    parent.closeFuture().addListener(x -> task.cancel(false));
  }

  private void ping() {
    if (!parent.isActive() || pingAwaited != 0) {
      return; // the last PING's timeout check is still pending
    }
    long content = ++pingCount;
    pingAwaited = content;
    parent.writeAndFlush(new io.netty.handler.codec.http2.DefaultHttp2PingFrame(content));
    parent.eventLoop().schedule(() -> {
      if (pingAwaited == content && parent.isOpen()) {
        goingAway = true;
        parent.close(); // no ACK in time: the peer or the path is gone
      }
    }, options.keepaliveTimeout().toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  private void streamEnded() {
    if (onStreamEnd != null) {
      onStreamEnd.run();
    }
    if (--streams == 0 && spent() && parent != null && parent.isOpen()) {
      goingAway = true;
      parent.close(); // its last stream ended: GOAWAY, then close
      return;
    }
    if (streams == 0 && idleNanos > 0 && parent != null) {
      long since = System.nanoTime();
      idleSince = since;
      parent.eventLoop().schedule(() -> {
        if (streams == 0 && idleSince == since && parent.isOpen()) {
          goingAway = true; // no new stream on it from now on
          parent.close(); // Http2FrameCodec's close sends GOAWAY first
        }
      }, idleNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  /** Connects with {@code connector} (plain TCP, or TCP then a TLS handshake); streams wait until it has. */
  Channel connect(Bootstrap bootstrap, InetSocketAddress address,
      java.util.function.BiFunction<Bootstrap, InetSocketAddress, io.netty.channel.ChannelFuture> connector) {
    codec = Http2FrameCodecBuilder.forClient()
        .initialSettings(Http2Settings.defaultSettings()
            .pushEnabled(false)
            .initialWindowSize(options.initialStreamWindowSize()))
        .validateHeaders(true)
        .build();
    var f = connector.apply(bootstrap.handler(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        ch.pipeline().addLast(codec, new Http2MultiplexHandler(new RefusePush()), new Watcher());
      }
    }), address);
    parent = f.channel();
    f.addListener(r -> {
      if (r.isSuccess()) {
        connected = true;
        startKeepalive();
        startAgeLimit();
        ConnectionGuard.growConnectionWindow(codec, options.initialConnectionWindowSize());
        parent.flush();
        Waiter w;
        while ((w = waiting.pollFirst()) != null) {
          open(w);
        }
      } else {
        failWaiting(r.cause());
      }
    });
    return parent;
  }

  /** True while this connection can take one more stream. */
  boolean hasRoom() {
    if (goingAway || spent() || !parent.isOpen()) {
      return false;
    }
    int peerLimit = connected ? codec.connection().local().maxActiveStreams() : Integer.MAX_VALUE;
    return streams < Math.min(options.maxConcurrentStreams(), peerLimit);
  }

  /**
   * Opens a stream whose pipeline is the HTTP-object codec then {@code tail}'s handlers; the promise
   * gets the stream channel.
   */
  void openStream(java.util.function.Supplier<io.netty.channel.ChannelHandler[]> tail, Promise<Channel> promise) {
    streams++;
    opened++;
    Waiter w = new Waiter(tail, promise);
    if (connected) {
      open(w);
    } else {
      waiting.addLast(w);
    }
  }

  private void open(Waiter w) {
    if (!parent.isActive()) {
      streamEnded();
      w.promise.tryFailure(new java.net.ConnectException("upstream HTTP/2 connection closed"));
      return;
    }
    new Http2StreamChannelBootstrap(parent)
        .handler(new ChannelInitializer<Http2StreamChannel>() {
          @Override
          protected void initChannel(Http2StreamChannel ch) {
            ch.pipeline().addLast(new Http2StreamFrameToHttpObjectCodec(false, false));
            ch.pipeline().addLast(w.tail.get());
          }
        })
        .open()
        .addListener(r -> {
          if (r.isSuccess()) {
            Channel stream = (Channel) r.getNow();
            stream.closeFuture().addListener(x -> streamEnded());
            w.promise.trySuccess(stream);
          } else {
            streamEnded();
            w.promise.tryFailure(r.cause());
          }
        });
  }

  private void failWaiting(Throwable cause) {
    Waiter w;
    while ((w = waiting.pollFirst()) != null) {
      streams--;
      w.promise.tryFailure(cause);
    }
  }

  /** Marks GOAWAY and closes the connection once idle. */
  private final class Watcher extends ChannelInboundHandlerAdapter {
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof Http2GoAwayFrame) {
        goingAway = true;
      } else if (msg instanceof io.netty.handler.codec.http2.Http2PingFrame ping && ping.ack() && ping.content() == pingAwaited) {
        pingAwaited = 0;
      }
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      goingAway = true;
      failWaiting(new java.net.ConnectException("upstream HTTP/2 connection closed"));
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }

  /** Server push is disabled in our SETTINGS; a pushed stream is refused by closing it. */
  private static final class RefusePush extends ChannelInboundHandlerAdapter {
    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      ctx.close();
    }
  }
}
