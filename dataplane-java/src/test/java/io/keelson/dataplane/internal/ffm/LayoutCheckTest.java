package io.keelson.dataplane.internal.ffm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.Test;

/** The struct offsets Java reads in place come from the shim and match DPDK 22.11's rte_mbuf. */
class LayoutCheckTest {

  @Test
  void mbufOffsetsMatchDpdk2211() {
    assumeTrue(Dpdk.isAvailable(), () -> "DPDK unavailable: " + Dpdk.unavailabilityCause());
    // The values below are DPDK 22.11's; the bindings never use them, they read the shim's.
    assertThat(MbufLayout.SIZEOF_MBUF).isEqualTo(128);
    assertThat(MbufLayout.BUF_ADDR).isEqualTo(0);
    assertThat(MbufLayout.DATA_OFF).isEqualTo(16);
    assertThat(MbufLayout.PKT_LEN).isEqualTo(36);
    assertThat(MbufLayout.DATA_LEN).isEqualTo(40);
    assertThat(MbufLayout.SIZEOF_STATS).isEqualTo(64);
  }

  @Test
  void unavailabilityCauseNamesThePathSearched() {
    assumeTrue(!Dpdk.isAvailable(), "DPDK is available here: the cause is null");
    assertThat(Dpdk.unavailabilityCause()).isNotBlank();
  }

  @Test
  void availabilityAndCauseAgree() {
    assertThat(Dpdk.isAvailable()).isEqualTo(Dpdk.unavailabilityCause() == null);
  }
}
