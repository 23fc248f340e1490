package io.keelson.dataplane.server;

import static io.keelson.dataplane.server.StandInListeners.REQUEST;
import static io.keelson.dataplane.server.StandInListeners.listener;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.transport.Transport;
import java.util.List;
import java.util.Set;
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
  /** How long the window stays open for a request to be read in it (it is read within a few ms when it can be). */
  private static final long WINDOW_MILLIS = 500;

  static Stream<Transport> transports() {
    return StandInListeners.transports();
  }

  /**
   * A client connects to listener b's new socket after the update that adds b bound it, and sends its request,
   * before the snapshot with b is in effect: it must be answered by b once that snapshot is (its connection
   * waits in the backlog until {@link ListenerSet#admit}), not read against the old snapshot (a 503).
   */
  @ParameterizedTest
  @MethodSource("transports")
  void aClientOfANewListenerIsServedOnlyOnceTheSnapshotWithItIsInEffect(Transport transport) throws Exception {
    try (StandInListeners stand = new StandInListeners(transport, "admit-test")) {
      ListenerSet set = stand.set;
      stand.inEffect.set(Set.of("a"));
      set.admit(set.reconcile(List.of(listener("a", "127.0.0.1", 0)))); // startup: its snapshot is already in effect
      try (RawHttp onA = new RawHttp(set.addresses().get("a").getPort())) {
        assertThat(onA.send(REQUEST).read().body()).as("a socket bound at startup accepts").isEqualTo("a");
      }

      ListenerSet.Change change = set.reconcile(List.of(listener("a", "127.0.0.1", 0), listener("b", "127.0.0.1", 0)));
      try (RawHttp onB = new RawHttp(set.addresses().get("b").getPort())) {
        onB.send(REQUEST);
        // a's request and, on the old code, b's
        boolean readInWindow = StandInListeners.reaches(stand.read::get, 2, WINDOW_MILLIS);
        set.retire(change, c -> { });
        stand.inEffect.set(Set.of("a", "b"));
        set.admit(change);

        RawHttp.Response r = onB.read();
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.body()).isEqualTo("b");
        assertThat(readInWindow).as("b's request was read before the snapshot with b").isFalse();
      }
    }
  }
}
