package io.keelson.dataplane.server;

import static io.keelson.dataplane.server.StandInListeners.listener;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.transport.Transport;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A connection set up during a rename's handoff (after the update retired listener "a", before the snapshot with
 * "b" on a's socket is in effect) is a's, and gets a's drain deadline: closed when the drain time has passed,
 * like a's other connections; one set up after the handoff is b's and stays open. Before the fix it stayed open.
 */
class ListenerSetDrainTimeTest {
  static Stream<Transport> transports() {
    return StandInListeners.transports();
  }

  @ParameterizedTest
  @MethodSource("transports")
  void aConnectionSetUpDuringTheHandoffGetsTheRetiredListenersDeadline(Transport transport) throws Exception {
    long drain = RetiredListenerDrainTimeTest.DRAIN_MILLIS;
    try (StandInListeners stand = new StandInListeners(transport, "drain-time-test", Duration.ofMillis(drain))) {
      ListenerSet set = stand.set;
      set.admit(set.reconcile(List.of(listener("a", "127.0.0.1", 0))));
      int port = set.addresses().get("a").getPort();

      ListenerSet.Change change = set.reconcile(List.of(listener("b", "127.0.0.1", port))); // b takes a's socket
      long retired = System.nanoTime();
      set.retire(change, c -> { }); // the stand-in keeps a connection until its request: only the deadline closes it
      try (RawHttp duringHandoff = new RawHttp(port)) {
        assertThat(StandInListeners.reaches(stand.accepted::get, 1, 10_000)).as("set up during the handoff").isTrue();
        set.admit(change);
        try (RawHttp onB = new RawHttp(port)) {
          assertThat(StandInListeners.reaches(stand.accepted::get, 2, 10_000)).as("b's connection set up").isTrue();
          RetiredListenerDrainTimeTest.assertClosedAtTheDrainTime(duringHandoff, retired);
          assertThat(onB.closedByPeer((int) drain)).as("b's connection open past the drain time").isFalse();
          assertThat(onB.send(StandInListeners.REQUEST).read().body()).isEqualTo("b");
        }
      }
    }
  }
}
