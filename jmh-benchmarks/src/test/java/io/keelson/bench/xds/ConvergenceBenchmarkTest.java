package io.keelson.bench.xds;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A smoke run of the convergence benchmark: small sizes, real control plane, real ADS streams. */
class ConvergenceBenchmarkTest {
  @Test
  void twentyProxiesWithTwoHundredEndpointsAllAckEveryChange() throws Exception {
    ConvergenceBenchmark.Result r = ConvergenceBenchmark.run(20, 200, 3);
    assertThat(r.rounds()).isEqualTo(3);
    assertThat(r.medianMillis()).isPositive().isLessThan(10_000);
    assertThat(r.maxMillis()).isGreaterThanOrEqualTo(r.medianMillis());
    assertThat(r.heapBytes()).isPositive();
    assertThat(r.edsMedianMillis()).isPositive().isLessThan(10_000);
    assertThat(r.edsMaxMillis()).isGreaterThanOrEqualTo(r.edsMedianMillis());
    assertThat(r.line()).contains("20", "200");
    assertThat(r.edsListsOmitted()).as("each round, each proxy already held v2's unchanged list").isEqualTo(20 * 3);
  }

  @Test
  void deltaProxiesAlsoAckEveryChange() throws Exception {
    ConvergenceBenchmark.Result r = ConvergenceBenchmark.run(20, 200, 3, true);
    assertThat(r.rounds()).isEqualTo(3);
    assertThat(r.medianMillis()).isPositive().isLessThan(10_000);
    assertThat(r.edsMedianMillis()).isPositive().isLessThan(10_000);
    assertThat(r.edsListsOmitted()).as("delta sends only changed resources by itself").isZero();
  }
}
