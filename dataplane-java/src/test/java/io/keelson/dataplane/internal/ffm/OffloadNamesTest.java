package io.keelson.dataplane.internal.ffm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.hw.OffloadFlags;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The profile loader's offload bit table agrees with the installed DPDK's own names for those bits. */
class OffloadNamesTest {

  @Test
  void profileOffloadNamesMatchDpdksNamesForTheSameBits() {
    assumeTrue(Dpdk.isAvailable(), () -> "DPDK unavailable: " + Dpdk.unavailabilityCause());
    check(true, OffloadFlags.RX);
    check(false, OffloadFlags.TX);
  }

  private static void check(boolean rx, Map<String, Long> table) {
    for (Map.Entry<String, Long> e : table.entrySet()) {
      int bit = Long.numberOfTrailingZeros(e.getValue());
      assertThat(Dpdk.offloadName(rx, bit).toLowerCase(Locale.ROOT)).as((rx ? "rx " : "tx ") + e.getKey())
          .isEqualTo(e.getKey());
    }
  }
}
