package io.keelson.dataplane.server;

import static io.keelson.dataplane.server.StandInListeners.REQUEST;
import static io.keelson.dataplane.server.StandInListeners.listener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.transport.Transport;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ListenerSet#reconcile} rolls back a listener it moved to a new host on the same port (its old socket
 * closed to free the port) when a later listener of the same update cannot bind: the update is rejected, so the
 * snapshot in effect still has the listener at its old address, where it must still accept and serve.
 */
class ListenerSetRollbackTest {
  private static final long WAIT_MILLIS = 5_000;

  static Stream<Transport> transports() {
    return StandInListeners.transports();
  }

  /**
   * An update moves a from 127.0.0.1:P to 0.0.0.0:P and adds b on a port another socket holds: it is rejected
   * naming b and its address, and afterwards a accepts at 127.0.0.1:P again and its connection from before the
   * update is still served (on the old code a had no socket at all: connections to P were refused).
   */
  @ParameterizedTest
  @MethodSource("transports")
  void aListenerMovedByARejectedUpdateStillServesAtItsOldAddress(Transport transport) throws Exception {
    try (StandInListeners stand = new StandInListeners(transport, "rollback-test");
        ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      ListenerSet set = stand.set;
      set.admit(set.reconcile(List.of(listener("a", "127.0.0.1", 0))));
      int port = set.addresses().get("a").getPort();
      try (RawHttp before = new RawHttp(port)) {
        // set up by a's socket before the update, not waiting in its backlog
        assertThat(StandInListeners.reaches(stand.accepted::get, 1, WAIT_MILLIS)).as("connections set up").isTrue();

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
    }
  }
}
