package io.keelson.dataplane.resilience;

import static io.keelson.dataplane.resilience.ResilienceConfigs.cluster;
import static io.keelson.dataplane.resilience.ResilienceConfigs.routes;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A plain HTTP/1.1 cluster of two upstreams, no retry policy, keep-alive calls going on while one upstream stops
 * (listener closed, every connection closed: its pooled connections get a FIN, new connects are refused). As Envoy,
 * every call right after the stop fails fast (503 UC when a pooled connection went away under it, 503 UF when the
 * connect is refused) or is served by the other upstream; none waits for the route's 10 s timeout. Over many stops,
 * so that requests land in the window between the FIN and the pool noticing it, on both pipeline wirings.
 */
class UpstreamStopsBetweenCallsTest {
  private static final int STOPS = 15;
  private static final int CALLERS = 4;
  /** Far below the route timeout (10 s): a call that took longer waited on a connection nobody would answer. */
  private static final long FAST_MS = 2_000;

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void callsRightAfterAnUpstreamStopsFailFastOrGoToTheOtherUpstream(PipelineMode mode) throws Exception {
    int stoppingPort = TestUpstream.closedPort();
    try (TestUpstream other = new TestUpstream("other");
        ProxyHarness proxy = new ProxyHarness(bootstrap(routes(""), cluster("", stoppingPort, other.port())), mode)) {
      for (int stop = 0; stop < STOPS; stop++) {
        TestUpstream stopping = new TestUpstream("stopping", stoppingPort);
        await().atMost(Duration.ofSeconds(10)).until(() -> {
          proxy.get("/warm");
          return stopping.requests.get() > 0;
        });
        AtomicBoolean done = new AtomicBoolean();
        List<String> slow = Collections.synchronizedList(new ArrayList<>());
        List<String> statuses = Collections.synchronizedList(new ArrayList<>());
        List<Thread> callers = new ArrayList<>();
        for (int c = 0; c < CALLERS; c++) {
          Thread t = new Thread(() -> {
            try (RawHttp http = new RawHttp(proxy.port())) {
              while (!done.get()) {
                long t0 = System.nanoTime();
                RawHttp.Response r = http.send("GET /items HTTP/1.1\r\nHost: x\r\n\r\n").read();
                long ms = (System.nanoTime() - t0) / 1_000_000;
                statuses.add(Integer.toString(r.status()));
                if (ms > FAST_MS || (r.status() != 200 && r.status() != 503)) {
                  slow.add(r.status() + " after " + ms + " ms: " + r.body());
                }
              }
            } catch (Exception e) {
              slow.add(e.toString());
            }
          });
          t.start();
          callers.add(t);
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> statuses.size() >= 20 * CALLERS);
        stopping.close();
        int after = statuses.size();
        await().atMost(Duration.ofSeconds(10)).until(() -> statuses.size() >= after + 20 * CALLERS || !slow.isEmpty());
        done.set(true);
        for (Thread t : callers) {
          t.join(30_000);
        }
        assertThat(slow).as("stop %d (%s): calls that did not end fast with 200 or 503", stop, mode).isEmpty();
        assertThat(statuses).as("stop %d (%s): the stop was seen by the calls", stop, mode).contains("503");
      }
    }
  }
}
