package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.testing.RawHttp;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Listeners an update adds or moves, through {@link ProxyServer#install}: their new sockets accept only once
 * the snapshot that has them is in effect, so no client of theirs meets the old snapshot (a 503 "listener
 * removed"), and they serve as soon as install returns. {@link ListenerSetAdmitTest} holds the window open.
 */
class ListenerSetAddedListenerTest extends OnListenerFixture {
  private static ListenerConfig named(String name, ListenerConfig like, int port) {
    return ListenerFixture.named(name, like, "127.0.0.1", port);
  }

  private static RawHttp.Response get(int port) throws IOException {
    try (RawHttp c = new RawHttp(port)) {
      return c.send(ListenerFixture.HEAD_START + ListenerFixture.HEAD_END).read();
    }
  }

  /** A port of 127.0.0.1 free a moment ago (for a listener whose port a client must know before it is bound). */
  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Test
  void aListenerBoundAtStartupServes() throws Exception {
    RawHttp.Response r = get(proxy.port());
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.header("x-upstream")).isEqualTo("v1");
  }

  @Test
  void anAddedListenerServesAsSoonAsInstallReturns() throws Exception {
    proxy.server.install(with("2", named("b", toV2, 0)));
    RawHttp.Response r = get(proxy.server.listenerAddress("b").getPort());
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.header("x-upstream")).isEqualTo("v2");
  }

  @Test
  void aMovedListenerServesAtItsNewAddressAsSoonAsInstallReturns() throws Exception {
    proxy.server.install(with("2", named("b", toV2, 0)));
    int moved = freePort();
    proxy.server.install(with("3", named("b", toV2, moved)));
    assertThat(proxy.server.listenerAddress("b").getPort()).isEqualTo(moved);
    RawHttp.Response r = get(moved);
    assertThat(r.status()).as(r.body()).isEqualTo(200);
    assertThat(r.header("x-upstream")).isEqualTo("v2");
  }

  /**
   * Adds and removes listener "b" on a fixed port while a client keeps connecting to it; each update that adds
   * b also retires listener "c", which has a connection mid-request, so the update tells that connection before
   * it swaps the snapshot (the window in which b's socket was bound under the old snapshot). Every request b
   * accepts is answered by b's config, never with a 503 "listener removed". Connections refused while b is not
   * bound, or reset when it is removed, are not what this tests and are skipped.
   */
  @Test
  void clientsOfAListenerBeingAddedAreNeverAnsweredListenerRemoved() throws Exception {
    int port = freePort();
    List<String> failures = new CopyOnWriteArrayList<>();
    AtomicBoolean updating = new AtomicBoolean(true);
    AtomicInteger served = new AtomicInteger();
    Thread client = Thread.ofPlatform().name("add-client").start(() -> {
      while (updating.get()) {
        try (RawHttp c = new RawHttp(port)) {
          RawHttp.Response r = c.send(ListenerFixture.HEAD_START + ListenerFixture.HEAD_END).read();
          if (r.status() != 200 || !"v2".equals(r.header("x-upstream"))) {
            failures.add(r.status() + " " + r.header("x-upstream") + " " + r.body());
          }
          served.incrementAndGet();
        } catch (ConnectException e) {
          Thread.onSpinWait(); // b is not bound now
        } catch (IOException e) {
          // b was removed under this connection
        }
      }
    });
    try {
      for (int i = 0; i < 20 && failures.isEmpty(); i++) {
        proxy.server.install(with("c" + i, named("c", toV1, 0)));
        var stats = proxy.server.snapshot().listener("c").stats();
        long before = stats.cxTotal.sum();
        try (RawHttp onC = new RawHttp(proxy.server.listenerAddress("c").getPort())) {
          onC.send(ListenerFixture.HEAD_START);
          await().atMost(Duration.ofSeconds(10)).until(() -> stats.cxTotal.sum() > before); // c has set it up
          int seen = served.get();
          proxy.server.install(with("b" + i, named("b", toV2, port))); // c retired, b added
          await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
              .until(() -> served.get() > seen || !failures.isEmpty()); // the client got in while b was there
          RawHttp.Response r = onC.send(ListenerFixture.HEAD_END).read();
          assertThat(r.header("x-upstream")).as("c's request finishes on c's config").isEqualTo("v1");
        }
        proxy.server.install(with("none" + i));
      }
    } finally {
      updating.set(false);
      client.join(Duration.ofSeconds(15));
    }
    assertThat(client.isAlive()).as("client stopped").isFalse();
    assertThat(failures).isEmpty();
  }
}
