package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.testing.RawHttp;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A rename: an update that removes listener "a" and adds listener "b" at a's address. As in Envoy, b takes
 * over a's listening socket (binding would fail while a's socket holds the port, and the whole update was
 * rejected); a's connections finish on a's config and are drained, new connections are b's.
 */
class ListenerSetTakeoverTest extends OnListenerFixture {
  /** Binds listener "a" (routes to v1) on an ephemeral port of 127.0.0.1; its port. */
  private int addA() throws Exception {
    proxy.server.install(with("2", ListenerFixture.named("a", toV1, "127.0.0.1", 0)));
    return proxy.server.boundListeners().get("a").getPort();
  }

  @Test
  void renamedListenerTakesOverTheSocketAndTheOldOnesConnectionFinishesOnItsConfigThenCloses() throws Exception {
    int port = addA();
    try (RawHttp old = fixture.openAccepted("a", port)) {
      proxy.server.install(with("3", ListenerFixture.named("b", toV2, "127.0.0.1", port))); // a removed, b at a's address
      assertThat(proxy.server.boundListeners()).doesNotContainKey("a").containsKey("b");
      assertThat(proxy.server.boundListeners().get("b").getPort()).isEqualTo(port);

      RawHttp.Response r = old.send(ListenerFixture.HEAD_END).read();
      assertThat(r.status()).as(r.body()).isEqualTo(200);
      assertThat(r.header("x-upstream")).as("served on a's config").isEqualTo("v1");
      assertThat(r.header("connection")).as("drained").isEqualTo("close");
      assertThat(old.closedByPeer(10_000)).as("closed after the response").isTrue();
    }
    for (int i = 0; i < 2; i++) { // new connections are b's and not drained: two requests on each
      try (RawHttp fresh = new RawHttp(port)) {
        RawHttp.Response r = fresh.send(ListenerFixture.HEAD_START + ListenerFixture.HEAD_END).read();
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.header("x-upstream")).as("a new connection is b's").isEqualTo("v2");
        assertThat(r.header("connection")).isNotEqualTo("close");
        r = fresh.send(ListenerFixture.HEAD_START + ListenerFixture.HEAD_END).read();
        assertThat(r.header("x-upstream")).isEqualTo("v2");
        assertThat(r.header("connection")).isNotEqualTo("close");
      }
    }
  }

  /**
   * Renames back and forth while a client keeps opening connections to the port: the socket never closes
   * (no connection is refused or reset) and every request is served by one of the two listeners, never with
   * a 503 "listener removed" (a connection set up on the new listener before the snapshot that has it).
   */
  @Test
  void connectionsDuringRenamesAreNeverRefusedNorFindNoListener() throws Exception {
    int port = addA();
    List<String> failures = new CopyOnWriteArrayList<>();
    AtomicBoolean renaming = new AtomicBoolean(true);
    AtomicInteger served = new AtomicInteger();
    Thread client = Thread.ofPlatform().name("rename-client").start(() -> {
      while (renaming.get()) {
        try (RawHttp c = new RawHttp(port)) {
          RawHttp.Response r = c.send(ListenerFixture.HEAD_START + ListenerFixture.HEAD_END).read();
          if (r.status() != 200) {
            failures.add(r.status() + " " + r.body());
          }
          served.incrementAndGet();
        } catch (IOException e) {
          failures.add(e.toString());
        }
      }
    });
    try {
      for (int i = 0; i < 30; i++) {
        int seen = served.get();
        ListenerConfig next = i % 2 == 0 ? ListenerFixture.named("b", toV2, "127.0.0.1", port) : ListenerFixture.named("a", toV1, "127.0.0.1", port);
        proxy.server.install(with("rename" + i, next));
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(5))
            .until(() -> served.get() > seen || !failures.isEmpty()); // the client got in during this name
      }
    } finally {
      renaming.set(false);
      client.join(Duration.ofSeconds(15));
    }
    assertThat(client.isAlive()).as("client stopped").isFalse();
    assertThat(failures).isEmpty();
  }

  @Test
  void aTakenOverSocketClosesWhenItsNewListenerIsRemoved() throws Exception {
    int port = addA();
    proxy.server.install(with("3", ListenerFixture.named("b", toV2, "127.0.0.1", port)));
    proxy.server.install(with("4"));
    assertThat(proxy.server.boundListeners()).doesNotContainKey("b");
    await().atMost(Duration.ofSeconds(10)).until(() -> refused(port));
  }

  @Test
  void twoNewListenersCannotTakeOverTheSameSocket() throws Exception {
    int port = addA();
    assertThatThrownBy(() -> proxy.server.install(
            with("3", ListenerFixture.named("b", toV2, "127.0.0.1", port), ListenerFixture.named("c", toV2, "127.0.0.1", port))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'c'")
        .hasMessageContaining("127.0.0.1:" + port);
    assertThat(proxy.server.boundListeners()).containsKey("a").doesNotContainKeys("b", "c");
    try (RawHttp c = new RawHttp(port)) {
      assertThat(c.send(ListenerFixture.HEAD_START + ListenerFixture.HEAD_END).read().header("x-upstream")).as("a still serves").isEqualTo("v1");
    }
  }

  @Test
  void aNewListenerOnTheSamePortButAnotherHostDoesNotTakeOver() throws Exception {
    int port = addA();
    assertThatThrownBy(() -> proxy.server.install(with("3", ListenerFixture.named("b", toV2, "0.0.0.0", port))))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("'b'");
    assertThat(proxy.server.boundListeners()).containsKey("a").doesNotContainKey("b");
  }

  private static boolean refused(int port) {
    try (RawHttp ignored = new RawHttp(port)) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }
}
