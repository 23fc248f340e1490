package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.testing.RawHttp;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * An in-place update: the same listener name and address with another config (here "ingress" routing to v2
 * instead of v1). As in Envoy, the listener's new version takes over its socket (never closed, no connection
 * refused) and the connections accepted before the update keep the old version: their requests are served on
 * the old config and they are drained (HTTP/1.1: {@code connection: close} on the next response, an idle one
 * closed), and closed when the drain time has passed; new connections get the new config. Before the change
 * the old connections' next requests were served with the new config, and they were never drained. A re-push
 * of the same listener (the same object, or a fresh translation of the same message, as xDS sends it) drains
 * nothing.
 */
class ListenerSetInPlaceUpdateTest {
  private static final String REQUEST = ListenerFixture.HEAD_START + ListenerFixture.HEAD_END;

  /** Sends a whole request on {@code c} and reads its response. */
  private static RawHttp.Response exchange(RawHttp c) throws Exception {
    return c.send(REQUEST).read();
  }

  @Test
  void connectionsOpenedBeforeAnUpdateFinishOnTheOldConfigAndAreDrainedNewOnesGetTheNewConfig() throws Exception {
    try (ListenerFixture p = new ListenerFixture()) {
      int port = p.proxy.port();
      try (RawHttp idle = p.openAccepted("ingress", port, REQUEST);
          RawHttp midRequest = p.openAccepted("ingress", port)) { // the start of a request head
        RawHttp.Response first = idle.read();
        assertThat(first.header("x-upstream")).isEqualTo("v1");
        assertThat(first.header("connection")).as("kept alive").isNotEqualTo("close");

        p.proxy.server.install(p.only("2", p.toV2)); // "ingress", same address, now to v2
        assertThat(p.proxy.server.boundListeners().get("ingress").getPort()).as("the same socket").isEqualTo(port);

        RawHttp.Response r = midRequest.send(ListenerFixture.HEAD_END).read();
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.header("x-upstream")).as("served on the config it was accepted with").isEqualTo("v1");
        assertThat(r.header("connection")).as("drained").isEqualTo("close");
        assertThat(midRequest.closedByPeer(10_000)).as("closed after the response").isTrue();
        assertThat(idle.closedByPeer(10_000)).as("an idle keep-alive connection is closed").isTrue();
      }
      for (int i = 0; i < 2; i++) { // new connections get the new version and are not drained: two requests each
        try (RawHttp fresh = new RawHttp(port)) {
          for (int j = 0; j < 2; j++) {
            RawHttp.Response r = exchange(fresh);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.header("x-upstream")).as("a new connection gets the new config").isEqualTo("v2");
            assertThat(r.header("connection")).isNotEqualTo("close");
          }
        }
      }
    }
  }

  /**
   * The same listener pushed again, as itself and as a fresh translation of the same message (new TLS contexts
   * and matchers, not equal to the old ones, as every xDS push builds them): open connections are not drained.
   */
  @Test
  void anUnchangedListenerPushedAgainDrainsNothing() throws Exception {
    try (ListenerFixture p = new ListenerFixture()) {
      int port = p.proxy.port();
      ListenerConfig again = p.translated("v1");
      assertThat(again.sameSource(p.toV1)).as("translated from the same listener message").isTrue();
      try (RawHttp keptAlive = p.openAccepted("ingress", port, REQUEST)) {
        assertThat(keptAlive.read().header("connection")).isNotEqualTo("close");
        int version = 2;
        for (ListenerConfig same : new ListenerConfig[] {p.toV1, again}) {
          try (RawHttp midRequest = p.openAccepted("ingress", port)) {
            p.proxy.server.install(p.only(String.valueOf(version++), same));

            assertThat(keptAlive.closedByPeer(200)).as("the idle keep-alive connection stays open").isFalse();
            RawHttp.Response r = exchange(keptAlive);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.header("x-upstream")).isEqualTo("v1");
            assertThat(r.header("connection")).as("not drained").isNotEqualTo("close");
            r = midRequest.send(ListenerFixture.HEAD_END).read();
            assertThat(r.header("x-upstream")).isEqualTo("v1");
            assertThat(r.header("connection")).as("not drained").isNotEqualTo("close");
          }
        }
      }
    }
  }

  /** A connection that never sends a request keeps its listener's old version only until the drain time. */
  @Test
  void aConnectionStillOpenAtTheDrainTimeIsClosed() throws Exception {
    try (ListenerFixture p = new ListenerFixture(Duration.ofMillis(RetiredListenerDrainTimeTest.DRAIN_MILLIS))) {
      int port = p.proxy.port();
      try (RawHttp silent = p.openAccepted("ingress", port, "")) {
        long updated = System.nanoTime();
        p.proxy.server.install(p.only("2", p.toV2));
        RetiredListenerDrainTimeTest.assertClosedAtTheDrainTime(silent, updated);
      }
      try (RawHttp fresh = new RawHttp(port)) {
        assertThat(exchange(fresh).header("x-upstream")).isEqualTo("v2");
      }
    }
  }

  /** The listener's digest: the same message translated again has the same one; a new route a new one. */
  @Test
  void aListenerTranslatedAgainHasTheSameSourceAndAChangedOneDoesNot() throws Exception {
    try (ListenerFixture p = new ListenerFixture()) {
      assertThat(p.translated("v1").sameSource(p.toV1)).isTrue();
      assertThat(p.translated("v2").sameSource(p.toV1)).isFalse();
      assertThat(ListenerFixture.named("ingress", p.toV1, "127.0.0.1", 0).sameSource(p.toV1))
          .as("built in code: no source to compare").isFalse();
    }
  }
}
