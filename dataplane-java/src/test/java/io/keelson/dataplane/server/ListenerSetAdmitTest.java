package io.keelson.dataplane.server;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

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
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ListenerSet} driven the way its owner drives it (reconcile, retire, swap the snapshot, admit), with a
 * stand-in for the snapshot: a connection's handler answers 200 when its listener is in the snapshot in effect
 * when it reads the request, else 503 "listener removed", as the proxy's does. The window between reconcile
 * and the swap is held open by the test, so what a client that connects in it gets is deterministic.
 */
class ListenerSetAdmitTest {
  private static final String REQUEST = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  /** How long the window stays open for a request to be read in it (it is read within a few ms when it can be). */
  private static final long WINDOW_MILLIS = 500;

  /** The listener names of the snapshot in effect. */
  private final AtomicReference<Set<String>> inEffect = new AtomicReference<>(Set.of("a"));
  /** Requests read, by any listener. */
  private final AtomicInteger read = new AtomicInteger();

  static Stream<Transport> transports() {
    return Stream.of(Transport.values()).filter(t -> t.unavailabilityCause() == null);
  }

  /**
   * A client connects to listener b's new socket after the update that adds b bound it, and sends its request,
   * before the snapshot with b is in effect: it must be answered by b once that snapshot is (its connection
   * waits in the backlog until {@link ListenerSet#admit}), not read against the old snapshot (a 503).
   */
  @ParameterizedTest
  @MethodSource("transports")
  void aClientOfANewListenerIsServedOnlyOnceTheSnapshotWithItIsInEffect(Transport transport) throws Exception {
    EventLoopGroup group = transport.newGroup(2, "admit-test");
    ListenerSet set = new ListenerSet(() -> new ServerBootstrap().group(group).channel(transport.serverChannel())
        .option(ChannelOption.SO_REUSEADDR, true),
        l -> new Answer(l.name()));
    try {
      set.admit(set.reconcile(List.of(listener("a")))); // startup: its snapshot is already in effect
      try (RawHttp onA = new RawHttp(set.addresses().get("a").getPort())) {
        assertThat(onA.send(REQUEST).read().body()).as("a socket bound at startup accepts").isEqualTo("a");
      }

      ListenerSet.Change change = set.reconcile(List.of(listener("a"), listener("b")));
      try (RawHttp onB = new RawHttp(set.addresses().get("b").getPort())) {
        onB.send(REQUEST);
        boolean readInWindow = readWithin(2, WINDOW_MILLIS); // a's request and, on the old code, b's
        set.retire(change, c -> { });
        inEffect.set(Set.of("a", "b"));
        set.admit(change);

        RawHttp.Response r = onB.read();
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("b");
        assertThat(readInWindow).as("b's request was read before the snapshot with b").isFalse();
      }
    } finally {
      set.closeAll(true);
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
  }

  /** Whether {@code count} requests have been read within {@code millis}: polls, returns as soon as they are. */
  private boolean readWithin(int count, long millis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    while (read.get() < count && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    return read.get() >= count;
  }

  /** An HTTP listener on an ephemeral port of 127.0.0.1 (the set looks at its name and address only). */
  private static ListenerConfig listener(String name) throws Exception {
    ListenerConfig like = BootstrapLoader.fromYaml(bootstrap(allTo("backend"), cluster("backend", "ROUND_ROBIN", 9)),
        "admit.yaml").listeners().getFirst();
    return new ListenerConfig(name, "127.0.0.1", 0, like.http(), null, null, List.of(), false, List.of());
  }

  /** Answers a connection's first read with its listener's name, or a 503 when the snapshot has no such listener. */
  @ChannelHandler.Sharable
  private final class Answer extends ChannelInboundHandlerAdapter {
    private final String listener;

    Answer(String listener) {
      this.listener = listener;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      ReferenceCountUtil.release(msg);
      read.incrementAndGet();
      boolean found = inEffect.get().contains(listener);
      String body = found ? listener : "listener removed";
      String response = (found ? "HTTP/1.1 200 OK" : "HTTP/1.1 503 Service Unavailable") + "\r\ncontent-length: "
          + body.length() + "\r\nconnection: close\r\n\r\n" + body;
      ByteBuf out = Unpooled.copiedBuffer(response, StandardCharsets.ISO_8859_1);
      ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }
  }
}
