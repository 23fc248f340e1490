package io.keelson.bench.jmh;

import io.keelson.dataplane.packet.conntrack.ConnTrack;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Connection-tracking lookups on a table filled with 10k or 1M flows: hits (a tracked client
 * tuple, visited in random order so the 1M case pays its cache misses) and misses.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgs = {"-Xmx2g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@State(Scope.Thread)
public class ConnTrackBenchmark {
  private static final int PROBES = 4096;
  private static final int VIP = 0xC000_0264;

  @Param({"10000", "1000000"})
  public int flows;

  private ConnTrack table;
  private int[] hitIps;
  private int[] hitPorts;
  private int[] missIps;
  private int[] missPorts;

  @Setup
  public void setUp() {
    table = new ConnTrack(flows, 900_000_000_000L, 30_000_000_000L, 10_000_000_000L, 60_000_000_000L);
    int[] ips = new int[flows];
    int[] ports = new int[flows];
    for (int i = 0; i < flows; i++) {
      ips[i] = 0x6400_0000 + (i >>> 14); // 16k ports per client address
      ports[i] = 1024 + (i & 0x3FFF);
      int backend = 0x0A01_000B + (i & 7);
      table.create(ips[i], ports[i], VIP, 443, 6, backend, 8080, 0x0A01_0002, 20_000 + (i % 40_000), ConnTrack.TCP_ESTABLISHED, 0);
    }
    SplittableRandom random = new SplittableRandom(3);
    hitIps = new int[PROBES];
    hitPorts = new int[PROBES];
    missIps = new int[PROBES];
    missPorts = new int[PROBES];
    for (int k = 0; k < PROBES; k++) {
      int i = random.nextInt(flows);
      hitIps[k] = ips[i];
      hitPorts[k] = ports[i];
      missIps[k] = 0x0B00_0000 + random.nextInt(1 << 20);
      missPorts[k] = random.nextInt(1024, 65536);
    }
  }

  @Benchmark
  @OperationsPerInvocation(PROBES)
  public int lookupHit() {
    int sum = 0;
    for (int k = 0; k < PROBES; k++) {
      sum += table.lookup(hitIps[k], VIP, hitPorts[k], 443, 6);
    }
    return sum;
  }

  @Benchmark
  @OperationsPerInvocation(PROBES)
  public int lookupMiss() {
    int sum = 0;
    for (int k = 0; k < PROBES; k++) {
      sum += table.lookup(missIps[k], VIP, missPorts[k], 443, 6);
    }
    return sum;
  }
}
