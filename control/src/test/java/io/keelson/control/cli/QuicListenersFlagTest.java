package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * {@code bin/keelson control --enable-quic-listeners}: documented and taken as a flag without a value (what it does to
 * gateways is {@code GatewayQuicTranslationTest}'s and {@code GatewayHttp3EndToEndTest}'s).
 */
class QuicListenersFlagTest {
  @Test
  void theFlagIsDocumentedAndTakenWithoutAValue() {
    assertThat(cli("control", "--help").out()).contains("--enable-quic-listeners")
        .contains("PILOT_ENABLE_QUIC_LISTENERS");
    // accepted as a flag: the command goes on to the next bad option (it would stop at an unknown one first)
    CliRun.Result r = cli("control", "--xds-port", "0", "--api-port", "0", "--xds-tls-port", "-1",
        "--enable-quic-listeners", "--locality-lb", "maybe");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).doesNotContain("unknown option").contains("--locality-lb 'maybe': expected true or false");
  }
}
