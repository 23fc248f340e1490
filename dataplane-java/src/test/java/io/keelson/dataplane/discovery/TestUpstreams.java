package io.keelson.dataplane.discovery;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestUpstream;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Test backends on several loopback addresses at one port, and which of them answer. */
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

  /** The backends (their x-upstream names) that answered {@code requests} GETs of /work through {@code proxy}, each 200. */
  static Set<String> answering(ProxyHarness proxy, int requests) throws Exception {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < requests; i++) {
      HttpResponse<String> r = proxy.get("/work");
      assertThat(r.statusCode()).isEqualTo(200);
      seen.add(r.headers().firstValue("x-upstream").orElseThrow());
    }
    return seen;
  }
}
