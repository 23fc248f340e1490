package io.keelson.dataplane.internal.ffm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.BitSet;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** sched_setaffinity/sched_getaffinity through FFM, on a thread of its own (pinning is per thread). */
class CpuAffinityTest {

  @Test
  void pinRestrictsTheCallingThreadAndUnpinGivesEveryCpuBack() throws Exception {
    AtomicReference<Object> result = new AtomicReference<>();
    Thread t = new Thread(() -> {
      try {
        BitSet before = CpuAffinity.current();
        int cpu = before.nextSetBit(0);
        CpuAffinity.pin(cpu);
        BitSet pinned = CpuAffinity.current();
        CpuAffinity.unpin();
        result.set(new BitSet[] {before, pinned, CpuAffinity.current()});
      } catch (Throwable e) {
        result.set(e);
      }
    });
    t.start();
    t.join();
    assertThat(result.get()).isInstanceOf(BitSet[].class);
    BitSet[] sets = (BitSet[]) result.get();
    assertThat(sets[1].cardinality()).isEqualTo(1);
    assertThat(sets[1].nextSetBit(0)).isEqualTo(sets[0].nextSetBit(0));
    assertThat(sets[2].cardinality()).isGreaterThanOrEqualTo(sets[0].cardinality());
  }

  @Test
  void emptySetIsRefusedBeforeReachingTheKernel() {
    assertThatThrownBy(() -> CpuAffinity.set(new BitSet())).hasMessageContaining("empty CPU set");
  }
}
