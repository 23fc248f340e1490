package io.keelson.dataplane.edge;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HopByHopHeadersTest {

  @Test
  void theFixedSetIsMatchedWhateverTheCase() {
    for (String name : new String[] {"Connection", "keep-alive", "PROXY-CONNECTION", "te", "Transfer-Encoding", "upgrade",
        "Trailer", "proxy-authenticate", "Proxy-Authorization"}) {
      assertThat(HopByHopHeaders.isHopByHop(name)).as(name).isTrue();
    }
    for (String name : new String[] {"t", "tee", "trailers", "content-length", "host", "upgrade-insecure-requests", ""}) {
      assertThat(HopByHopHeaders.isHopByHop(name)).as(name).isFalse();
    }
  }

  @Test
  void aConnectionOptionIsHopByHopWithSpacesTabsAndCaseIgnored() {
    assertThat(HopByHopHeaders.isHopByHop("x-custom", "keep-alive, X-Custom")).isTrue();
    assertThat(HopByHopHeaders.isHopByHop("X-CUSTOM", "x-custom")).isTrue();
    assertThat(HopByHopHeaders.isHopByHop("x-custom", " \tx-custom\t ,close")).isTrue();
    assertThat(HopByHopHeaders.isHopByHop("x-custom", "x-custom2, xx-custom,,")).isFalse();
    assertThat(HopByHopHeaders.isHopByHop("x-custom", null)).isFalse();
  }

  @Test
  void onlyConnectionValuesNamingMoreThanTheFixedSetNeedScanning() {
    assertThat(HopByHopHeaders.options(null)).isNull();
    assertThat(HopByHopHeaders.options("Keep-Alive")).isNull();
    assertThat(HopByHopHeaders.options("close")).isNull();
    assertThat(HopByHopHeaders.options("Upgrade")).isNull();
    assertThat(HopByHopHeaders.options("upgrade, x-a")).isEqualTo("upgrade, x-a");
  }
}
