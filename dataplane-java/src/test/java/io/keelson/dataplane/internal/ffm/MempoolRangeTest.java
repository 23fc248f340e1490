package io.keelson.dataplane.internal.ffm;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The start-up check that a pool's memory is below the 48 bits the packet path's accessors keep of an address. */
class MempoolRangeTest {
  private static final long LIMIT = 1L << 48;

  @Test
  void aPoolBelowTwoToThe48IsAccepted() {
    assertThatCode(() -> Mempool.requireReachable("low", 0x1_0000_0000L, 0x1_0880_0000L)).doesNotThrowAnyException();
    // The last byte at 2^48 - 1 is still addressable: the end is exclusive.
    assertThatCode(() -> Mempool.requireReachable("edge", LIMIT - 4096, LIMIT)).doesNotThrowAnyException();
  }

  @Test
  void aPoolReachingTwoToThe48IsRefusedNamingThePoolAndItsAddress() {
    assertThatThrownBy(() -> Mempool.requireReachable("keelson-gw-1", LIMIT - 4096, LIMIT + 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("mempool keelson-gw-1")
        .hasMessageContaining("0xfffffffff000-0x1000000000001")
        .hasMessageContaining("2^48")
        .hasMessageContaining("--base-virtaddr");
    // Wholly above (a 5-level-paging kernel's high half), and at the boundary itself.
    assertThatThrownBy(() -> Mempool.requireReachable("la57", 0x7f00_0000_0000_00L, 0x7f00_0000_1000_00L))
        .hasMessageContaining("mempool la57 has memory at 0x7f000000000000-0x7f000000100000");
    assertThatThrownBy(() -> Mempool.requireReachable("at", LIMIT, LIMIT + 2176))
        .hasMessageContaining("mempool at has memory at 0x1000000000000");
  }

  @Test
  void addressesAreComparedAsUnsigned() {
    // Above 2^63 a long is negative; a signed compare would take it for a low address.
    assertThatThrownBy(() -> Mempool.requireReachable("kernel-half", 0xffff_8000_0000_0000L, 0xffff_8000_0010_0000L))
        .hasMessageContaining("mempool kernel-half has memory at 0xffff800000000000");
  }

  @Test
  void anEmptyOrInvertedRangeIsRefused() {
    assertThatThrownBy(() -> Mempool.requireReachable("empty", 0x1000, 0x1000))
        .hasMessageContaining("mempool empty reports an empty memory range");
    assertThatThrownBy(() -> Mempool.requireReachable("inverted", 0x2000, 0x1000))
        .hasMessageContaining("empty memory range");
  }
}
