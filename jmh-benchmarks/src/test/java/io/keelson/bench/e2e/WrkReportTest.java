package io.keelson.bench.e2e;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class WrkReportTest {
  private static final String WRK_OUTPUT = """
    Running 3s test @ http://127.0.0.1:40857/
      1 threads and 16 connections
      Thread Stats   Avg      Stdev     Max   +/- Stdev
        Latency   150.00us   40.00us   2.00ms   90.00%
      300000 requests in 3.00s, 60.00MB read
    Requests/sec: 100000.00
    KEELSON_WRK_JSON {"duration_us":3000000,"requests":300000,"bytes":62914560,"errors":{"connect":0,"read":0,"write":0,"status":0,"timeout":0},"latency_us":{"min":40,"max":2000,"mean":150.123,"stdev":40.000,"percentiles":{"1":60,"50":140,"90":190,"99":400,"99.9":900,"99.99":1500,"100":2000}}}
    """;

  @Test
  void readsRateAndPercentilesFromTheReportLine() {
    Measurement m = WrkReport.parse(WRK_OUTPUT);

    assertThat(m.ratePerSecond()).isCloseTo(100_000.0, within(0.01));
    assertThat(m.operations()).isEqualTo(300_000);
    assertThat(m.seconds()).isEqualTo(3.0);
    assertThat(m.errors()).isZero();
    assertThat(m.latency(50)).isEqualTo(140.0);
    assertThat(m.latency(99)).isEqualTo(400.0);
    assertThat(m.latency(99.9)).isEqualTo(900.0);
    assertThat(m.latency(99.99)).isEqualTo(1500.0);
    assertThat(m.latency(75)).isNaN();
    assertThat(m.latencyUs().firstKey()).isEqualTo(1.0);
  }

  @Test
  void countsNon2xxResponsesAsErrorsAndNotAsThroughput() {
    String out = WRK_OUTPUT.replace("\"status\":0", "\"status\":100000").replace("\"connect\":0", "\"connect\":5");

    Measurement m = WrkReport.parse(out);

    assertThat(m.operations()).isEqualTo(200_000);
    assertThat(m.ratePerSecond()).isCloseTo(200_000 / 3.0, within(0.01));
    assertThat(m.errors()).isEqualTo(100_005);
    assertThat(m.errorDetail()).isEqualTo("connect=5 status=100000");
    assertThat(m.errorRatio()).isCloseTo(100_005.0 / 300_005, within(1e-9));
  }

  @Test
  void rejectsOutputWithoutTheReportLineNamingTheScript() {
    assertThatThrownBy(() -> WrkReport.parse("unable to connect to 127.0.0.1:1 Connection refused"))
      .isInstanceOf(IllegalArgumentException.class)
      .hasMessageContaining("KEELSON_WRK_JSON")
      .hasMessageContaining("wrk-report.lua")
      .hasMessageContaining("Connection refused");
  }

  @Test
  void rejectsAReportLineWithoutRequiredFields() {
    assertThatThrownBy(() -> WrkReport.parse("KEELSON_WRK_JSON {\"duration_us\":1000000}"))
      .isInstanceOf(IllegalArgumentException.class)
      .hasMessageContaining("\"requests\"");
    assertThatThrownBy(() -> WrkReport.parse("KEELSON_WRK_JSON {not json"))
      .isInstanceOf(IllegalArgumentException.class)
      .hasMessageContaining("not valid JSON");
  }
}
