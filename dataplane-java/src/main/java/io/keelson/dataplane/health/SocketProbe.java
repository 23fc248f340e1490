package io.keelson.dataplane.health;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.HealthCheckConfig;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The TCP check (healthy when the connection is accepted) and the HTTP/1.1 check (healthy when the
 * response's status is expected), on a Netty channel of the health event loop with the check's
 * timeout covering connect and answer. Stateless between checks.
 */
final class SocketProbe implements Probe {
  private final EventLoop loop;
  private final Transport transport;
  private final long timeoutNanos;
  /** The request to send, or null for a connect-only check. */
  private final HealthCheckConfig.Http http;
  private final String hostHeader;
  /** The cluster: its upstream_bind_config source address for each endpoint's IP family. */
  private final io.keelson.dataplane.config.ClusterConfig cluster;

  SocketProbe(EventLoop loop, Transport transport, HealthCheckConfig config, io.keelson.dataplane.config.ClusterConfig cluster) {
    this.cluster = cluster;
    this.loop = loop;
    this.transport = transport;
    this.timeoutNanos = config.timeout().toNanos();
    this.http = config.check() instanceof HealthCheckConfig.Http h ? h : null;
    this.hostHeader = http == null ? null : http.host() != null ? http.host() : cluster.name();
  }

  @Override
  public void probe(EndpointConfig endpoint, Consumer<Boolean> done) {
    Attempt attempt = new Attempt(done);
    var address = endpoint.socketAddress();
    Bootstrap b = transport.bindSource(new Bootstrap()
        .group(loop)
        .channel(transport.clientChannel())
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, TimeUnit.NANOSECONDS.toMillis(timeoutNanos)))
        .handler(new ChannelInitializer<>() {
          @Override
          protected void initChannel(Channel ch) {
            ch.pipeline().addLast(attempt);
          }
        }), cluster.sourceAddress(address));
    attempt.timer = loop.schedule(() -> attempt.finish(false), timeoutNanos, TimeUnit.NANOSECONDS);
    b.connect(address).addListener((ChannelFuture f) -> {
      if (!f.isSuccess()) {
        attempt.finish(false);
      }
    });
  }

  /** One check's channel handler; everything runs on the health loop. */
  private final class Attempt extends ChannelInboundHandlerAdapter {
    private final Consumer<Boolean> done;
    private ScheduledFuture<?> timer;
    private Channel channel;
    private ByteBuf head;
    private boolean finished;

    Attempt(Consumer<Boolean> done) {
      this.done = done;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      channel = ctx.channel();
      if (finished) {
        channel.close();
        return;
      }
      if (http == null) {
        finish(true);
        return;
      }
      String request = "GET " + http.path() + " HTTP/1.1\r\nhost: " + hostHeader
          + "\r\nuser-agent: Envoy/HC\r\nconnection: close\r\n\r\n";
      ctx.writeAndFlush(Unpooled.copiedBuffer(request, StandardCharsets.ISO_8859_1));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ByteBuf in = (ByteBuf) msg;
      try {
        if (finished) {
          return;
        }
        if (head == null) {
          head = ctx.alloc().buffer(64);
        }
        head.writeBytes(in, Math.min(in.readableBytes(), 256 - head.readableBytes()));
        String line = head.toString(StandardCharsets.ISO_8859_1);
        int eol = line.indexOf("\r\n");
        if (eol >= 0 || head.readableBytes() >= 256) {
          finish(eol >= 0 && http.expected(status(line.substring(0, eol))));
        }
      } finally {
        in.release();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      finish(false);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      finish(false);
    }

    void finish(boolean healthy) {
      if (finished) {
        return;
      }
      finished = true;
      if (timer != null) {
        timer.cancel(false);
      }
      if (head != null) {
        head.release();
        head = null;
      }
      if (channel != null) {
        channel.close();
      }
      done.accept(healthy);
    }
  }

  /** The status of an HTTP/1.x status line, or -1. */
  static int status(String statusLine) {
    if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
      return -1;
    }
    try {
      return Integer.parseInt(statusLine.substring(9, 12));
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
