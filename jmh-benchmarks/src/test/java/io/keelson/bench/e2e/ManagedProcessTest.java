package io.keelson.bench.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class ManagedProcessTest {
  @Test
  void closeStopsTheWholeProcessTree(@TempDir Path dir) throws Exception {
    ManagedProcess p = ManagedProcess.start("tree", CpuPinning.Cpus.NONE,
      List.of("sh", "-c", "sleep 300 & sleep 300 & wait"), dir.resolve("tree.log"), Map.of());
    await().atMost(Duration.ofSeconds(10)).until(() -> p.tree().size() == 3);
    List<ProcessHandle> tree = p.tree();

    p.close();

    assertThat(tree).allSatisfy(h -> assertThat(h.isAlive()).as("pid %d", h.pid()).isFalse());
  }

  @Test
  void samplerReadsResidentMemoryAndCpuOfARunningProcess(@TempDir Path dir) throws Exception {
    try (ManagedProcess p = ManagedProcess.start("busy", CpuPinning.Cpus.NONE,
      List.of("sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; sleep 300"), dir.resolve("busy.log"),
      Map.of())) {
      ResourceSampler sampler = ResourceSampler.start(p);
      await().atMost(Duration.ofSeconds(10)).until(() -> ResourceSampler.cpuTicks(p.pid()) > 10);
      ResourceSampler.Usage usage = ResourceSampler.stop(sampler);

      assertThat(usage.rssPeakKb()).isGreaterThan(100);
      assertThat(usage.rssMeanKb()).isBetween(1L, usage.rssPeakKb());
      assertThat(usage.cpuPercent()).isGreaterThan(0);
    }
    assertThat(ResourceSampler.stop(null)).isEqualTo(ResourceSampler.Usage.NONE);
  }
}
