package io.keelson.dataplane.filter.fault;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.ExchangeEndHook;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterRandom;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.route.TestRequest;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.stats.StatsRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class FaultFilterTest {
  private final StatsRegistry stats = new StatsRegistry();
  /** Returns 0, 1, 2, ... modulo the bound: a share p of n consecutive calls samples exactly p * n. */
  private final AtomicInteger counter = new AtomicInteger();
  private final FilterRandom sequence = bound -> counter.getAndIncrement() % bound;

  private FaultFilter filter(FaultConfig config) {
    return (FaultFilter) new FaultFilterFactory().create(config, new FilterResources(stats, "ingress", System::nanoTime, sequence));
  }

  private static FaultConfig abort(int status, Percent p) {
    return new FaultConfig(null, false, null, status, -1, false, p, -1);
  }

  private static FilterContext run(FaultFilter f, TestRequest request) {
    FilterContext c = new FilterContext();
    c.head = request;
    f.onRequest(c);
    return c;
  }

  @Test
  void abortsExactlyTheConfiguredShareOfRequests() {
    FaultFilter f = filter(abort(503, new Percent(25, 100)));
    int aborted = 0;
    for (int i = 0; i < 1000; i++) {
      FilterContext c = run(f, TestRequest.get("/"));
      if (c.hasLocalReply()) {
        aborted++;
        assertThat(c.status()).isEqualTo(503);
        assertThat(c.body()).isEqualTo("fault filter abort");
        assertThat(c.flag()).isEqualTo(ResponseFlag.FI);
      }
      if (c.hasLocalReply()) {
        c.takeEndHook().onExchangeEnd();
      }
    }
    assertThat(aborted).isEqualTo(250);
    assertThat(stats.counter("http.ingress.fault.aborts_injected").sum()).isEqualTo(250);
    assertThat(stats.gauge("http.ingress.fault.active_faults").get()).isZero();
  }

  @Test
  void aZeroPercentAbortNeverFiresEvenWhenTheHeaderAsksForAll() {
    // What an abort without percentage translates to (Envoy's FractionalPercent default, 0/100).
    FaultFilter fixed = filter(abort(503, Percent.NONE));
    FaultFilter fromHeaders = filter(new FaultConfig(null, false, null, 0, -1, true, Percent.NONE, -1));
    for (int i = 0; i < 200; i++) {
      assertThat(run(fixed, TestRequest.get("/")).hasLocalReply()).isFalse();
      assertThat(run(fromHeaders, TestRequest.get("/").header(FaultFilter.ABORT, "503").header(FaultFilter.ABORT_PERCENT, "100"))
          .hasLocalReply()).isFalse();
    }
    assertThat(stats.counter("http.ingress.fault.aborts_injected").sum()).isZero();
  }

  @Test
  void delaysWithAFixedDelayAndThenContinues() {
    FaultFilter f = filter(new FaultConfig(Duration.ofMillis(200), false, Percent.ALL, 0, -1, false, null, -1));
    FilterContext c = run(f, TestRequest.get("/"));
    assertThat(c.hasLocalReply()).isFalse();
    assertThat(c.delayNanos()).isEqualTo(200_000_000L);
    assertThat(c.flag()).isEqualTo(ResponseFlag.DI);
    assertThat(stats.counter("http.ingress.fault.delays_injected").sum()).isEqualTo(1);
  }

  @Test
  void headerAbortTakesTheStatusAndPercentageFromTheRequestCappedByConfig() {
    FaultFilter f = filter(new FaultConfig(null, false, null, 0, -1, true, new Percent(50, 100), -1));
    assertThat(run(f, TestRequest.get("/")).hasLocalReply()).as("no header, no abort").isFalse();
    FilterContext c = run(f, TestRequest.get("/").header(FaultFilter.ABORT, "418").header(FaultFilter.ABORT_PERCENT, "100"));
    // 100 from the header is capped at the configured 50: the sequence source gives 0 first, which is < 50.
    assertThat(c.status()).isEqualTo(418);
    int aborted = 0;
    for (int i = 0; i < 100; i++) {
      if (run(f, TestRequest.get("/").header(FaultFilter.ABORT, "500").header(FaultFilter.ABORT_PERCENT, "10")).hasLocalReply()) {
        aborted++;
      }
    }
    assertThat(aborted).isEqualTo(10);
    assertThat(run(f, TestRequest.get("/").header(FaultFilter.ABORT, "99")).hasLocalReply()).as("status out of range").isFalse();
  }

  @Test
  void headerDelayTakesMillisecondsFromTheRequest() {
    FaultFilter f = filter(new FaultConfig(null, true, Percent.ALL, 0, -1, false, null, -1));
    assertThat(run(f, TestRequest.get("/")).delayNanos()).isZero();
    assertThat(run(f, TestRequest.get("/").header(FaultFilter.DELAY, "150")).delayNanos()).isEqualTo(150_000_000L);
    assertThat(run(f, TestRequest.get("/").header(FaultFilter.DELAY, "150").header(FaultFilter.DELAY_PERCENT, "0")).delayNanos()).isZero();
  }

  @Test
  void grpcAbortIsATrailersOnlyResponse() {
    FaultFilter f = filter(new FaultConfig(null, false, null, 0, 14, false, Percent.ALL, -1));
    FilterContext c = run(f, TestRequest.get("/"));
    assertThat(c.status()).isEqualTo(200);
    assertThat(c.replyHeaders()).contains("content-type: application/grpc\r\n").contains("grpc-status: 14\r\n");
  }

  @Test
  void maxActiveFaultsCapsConcurrentFaultsAndReleasesThemAtExchangeEnd() {
    FaultFilter f = filter(new FaultConfig(Duration.ofSeconds(1), false, Percent.ALL, 0, -1, false, null, 2));
    FilterContext first = run(f, TestRequest.get("/"));
    FilterContext second = run(f, TestRequest.get("/"));
    FilterContext third = run(f, TestRequest.get("/"));
    assertThat(first.delayNanos()).isPositive();
    assertThat(second.delayNanos()).isPositive();
    assertThat(third.delayNanos()).as("over max_active_faults").isZero();
    assertThat(stats.counter("http.ingress.fault.faults_overflow").sum()).isEqualTo(1);
    ExchangeEndHook end = first.takeEndHook();
    end.onExchangeEnd();
    assertThat(run(f, TestRequest.get("/")).delayNanos()).as("a slot was released").isPositive();
  }

  @Test
  void delayThenAbortBothApplyAndTheAbortFlagWins() {
    FaultFilter f = filter(new FaultConfig(Duration.ofMillis(10), false, Percent.ALL, 503, -1, false, Percent.ALL, -1));
    FilterContext c = run(f, TestRequest.get("/"));
    assertThat(c.delayNanos()).isEqualTo(10_000_000L);
    assertThat(c.status()).isEqualTo(503);
    assertThat(c.flag()).isEqualTo(ResponseFlag.FI);
  }
}
