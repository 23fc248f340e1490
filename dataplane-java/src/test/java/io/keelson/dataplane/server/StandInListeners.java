package io.keelson.dataplane.server;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntSupplier;
import java.util.stream.Stream;

/**
 * A {@link ListenerSet} driven directly, on one transport, with a stand-in for the proxy's connections: each
 * answers its first request with its listener's name (200) when that listener is in the snapshot in effect
 * ({@link #inEffect}), else a 503 "listener removed", as the proxy does, and closes. Counts the connections set
 * up and the requests read, for tests that must know when the set has taken a connection.
 */
final class StandInListeners implements AutoCloseable {
  static final String REQUEST = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

  final ListenerSet set;
  /** The listener names of the snapshot in effect; null: every listener's. */
  final AtomicReference<Set<String>> inEffect = new AtomicReference<>();
  final AtomicInteger accepted = new AtomicInteger();
  final AtomicInteger read = new AtomicInteger();
  private final EventLoopGroup group;

  /** The transports this machine has (NIO always; epoll and io_uring where the kernel allows). */
  static Stream<Transport> transports() {
    return Stream.of(Transport.values()).filter(t -> t.unavailabilityCause() == null);
  }

  StandInListeners(Transport transport, String name) {
    this(transport, name, Duration.ofSeconds(5));
  }

  /** @param drainTime how long a retired listener's connections may stay open */
  StandInListeners(Transport transport, String name, Duration drainTime) {
    group = transport.newGroup(2, name);
    // The options ProxyServer's bootstrap sets that matter to binding.
    set = new ListenerSet(() -> new ServerBootstrap().group(group).channel(transport.serverChannel())
        .option(ChannelOption.SO_REUSEADDR, true), l -> new Answer(l.name()), drainTime);
  }

  /** An HTTP listener at {@code host:port} (the set looks at its name and address only). */
  static ListenerConfig listener(String name, String host, int port) throws Exception {
    ListenerConfig like = BootstrapLoader.fromYaml(bootstrap(allTo("backend"), cluster("backend", "ROUND_ROBIN", 9)),
        "stand-in.yaml").listeners().getFirst();
    return new ListenerConfig(name, host, port, like.http(), null, null, List.of(), false, List.of());
  }

  /** Whether {@code counter} reaches {@code count} within {@code millis}: polls, returns as soon as it does. */
  static boolean reaches(IntSupplier counter, int count, long millis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (counter.getAsInt() < count && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    return counter.getAsInt() >= count;
  }

  @Override
  public void close() {
    set.closeAll(true);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  @ChannelHandler.Sharable
  private final class Answer extends ChannelInboundHandlerAdapter {
    private final String listener;

    Answer(String listener) {
      this.listener = listener;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      accepted.incrementAndGet();
      ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
      read.incrementAndGet();
      Set<String> names = inEffect.get();
      boolean found = names == null || names.contains(listener);
      String body = found ? listener : "listener removed";
      String response = (found ? "HTTP/1.1 200 OK" : "HTTP/1.1 503 Service Unavailable") + "\r\ncontent-length: "
          + body.length() + "\r\nconnection: close\r\n\r\n" + body;
      ctx.writeAndFlush(Unpooled.copiedBuffer(response, StandardCharsets.ISO_8859_1))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }
}
