package io.keelson.dataplane.server;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ListenerSet#reconcile} rolls back a listener it moved to a new host on the same port (its old socket
 * closed to free the port) when a later listener of the same update cannot bind: the update is rejected, so the
 * snapshot in effect still has the listener at its old address, where it must still accept and serve.
 */
class ListenerSetRollbackTest {
  private static final String REQUEST = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  private static final long WAIT_MILLIS = 5_000;

  /** Connections set up, on any listener. */
  private final AtomicInteger accepted = new AtomicInteger();

  static Stream<Transport> transports() {
    return Stream.of(Transport.values()).filter(t -> t.unavailabilityCause() == null);
  }

  /**
   * An update moves a from 127.0.0.1:P to 0.0.0.0:P and adds b on a port another socket holds: it is rejected
   * naming b and its address, and afterwards a accepts at 127.0.0.1:P again and its connection from before the
   * update is still served (on the old code a had no socket at all: connections to P were refused).
   */
  @ParameterizedTest
  @MethodSource("transports")
  void aListenerMovedByARejectedUpdateStillServesAtItsOldAddress(Transport transport) throws Exception {
    EventLoopGroup group = transport.newGroup(2, "rollback-test");
    ListenerSet set = new ListenerSet(() -> new ServerBootstrap().group(group).channel(transport.serverChannel())
        .option(ChannelOption.SO_REUSEADDR, true),
        l -> new Answer(l.name()));
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      set.admit(set.reconcile(List.of(listener("a", "127.0.0.1", 0))));
      int port = set.addresses().get("a").getPort();
      try (RawHttp before = new RawHttp(port)) {
        awaitAccepted(1); // set up by a's socket before the update, not waiting in its backlog

        int busy = taken.getLocalPort();
        List<ListenerConfig> update = List.of(listener("a", "0.0.0.0", port), listener("b", "127.0.0.1", busy));
        assertThatThrownBy(() -> set.reconcile(update))
            .isInstanceOf(ConfigException.class)
            .hasMessageContaining("listener 'b' cannot bind 127.0.0.1:" + busy)
            .hasMessageNotContaining("'a'");

        assertThat(set.addresses().get("a")).isEqualTo(new InetSocketAddress("127.0.0.1", port));
        assertThat(set.addresses()).doesNotContainKey("b");
        try (RawHttp after = new RawHttp(port)) {
          assertThat(after.send(REQUEST).read().body()).as("a new connection to a").isEqualTo("a");
        }
        assertThat(before.send(REQUEST).read().body()).as("a's connection from before the update").isEqualTo("a");
      }
    } finally {
      set.closeAll(true);
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }

  /** Waits (at most {@value #WAIT_MILLIS} ms) until {@code count} connections have been set up. */
  private void awaitAccepted(int count) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
    while (accepted.get() < count && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(accepted.get()).as("connections set up").isGreaterThanOrEqualTo(count);
  }

  /** An HTTP listener at {@code host:port} (the set looks at its name and address only). */
  private static ListenerConfig listener(String name, String host, int port) throws Exception {
    ListenerConfig like = BootstrapLoader.fromYaml(bootstrap(allTo("backend"), cluster("backend", "ROUND_ROBIN", 9)),
        "rollback.yaml").listeners().getFirst();
    return new ListenerConfig(name, host, port, like.http(), null, null, List.of(), false, List.of());
  }

  /** Counts the connections set up; answers a connection's first read with its listener's name and closes it. */
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
      String response = "HTTP/1.1 200 OK\r\ncontent-length: " + listener.length() + "\r\nconnection: close\r\n\r\n"
          + listener;
      ByteBuf out = Unpooled.copiedBuffer(response, StandardCharsets.ISO_8859_1);
      ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
