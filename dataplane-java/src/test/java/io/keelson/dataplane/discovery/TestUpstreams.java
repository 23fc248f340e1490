package io.keelson.dataplane.discovery;

import io.keelson.dataplane.testing.TestUpstream;
import java.util.ArrayList;
import java.util.List;

/** Test backends on several loopback addresses at one port. */
final class TestUpstreams {
  private TestUpstreams() {}

  /**
   * Backends named after their address ("1" on 127.0.0.1, "2" on 127.0.0.2, ...) on one port, added to
   * {@code closeables}.
   */
  static List<TestUpstream> onLoopbackAddresses(List<AutoCloseable> closeables, int... lastOctets) throws Exception {
    for (int attempt = 0; ; attempt++) {
      List<TestUpstream> started = new ArrayList<>();
      try {
        int port = 0;
        for (int o : lastOctets) {
          TestUpstream u = new TestUpstream(String.valueOf(o), "127.0.0." + o, port, null);
          started.add(u);
          port = u.port();
        }
        closeables.addAll(started);
        return started;
      } catch (Exception e) { // that port was taken on another address: try another
        started.forEach(TestUpstream::close);
        if (attempt > 5) {
          throw e;
        }
      }
    }
  }
}
