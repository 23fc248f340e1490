package io.keelson.bench.jmh;

import io.keelson.dataplane.packet.maglev.MaglevTable;
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
 * Maglev lookup (hash of a 5-tuple + one table read) and table build for 10/100/1000 backends at
 * the default prime size 65,537.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@State(Scope.Thread)
public class MaglevBenchmark {
  private static final int FLOWS = 1024;

  @Param({"10", "100", "1000"})
  public int backends;

  private long[] keys;
  private MaglevTable table;
  private int[] srcIps;
  private int[] srcPorts;

  @Setup
  public void setUp() {
    keys = new long[backends];
    for (int i = 0; i < backends; i++) {
      keys[i] = ((long) (0x0A00_0000 + i) << 16) | 8080;
    }
    table = MaglevTable.build(keys, null, MaglevTable.DEFAULT_SIZE);
    SplittableRandom random = new SplittableRandom(1);
    srcIps = new int[FLOWS];
    srcPorts = new int[FLOWS];
    for (int i = 0; i < FLOWS; i++) {
      srcIps[i] = random.nextInt();
      srcPorts[i] = random.nextInt(1024, 65536);
    }
  }

  /** Hash the 5-tuple and read the table: what the gateway does for a new flow. ns per lookup. */
  @Benchmark
  @OperationsPerInvocation(FLOWS)
  public int lookup() {
    int sum = 0;
    for (int i = 0; i < FLOWS; i++) {
      sum += table.lookup(MaglevTable.hash5(srcIps[i], 0xC000_0264, srcPorts[i], 443, 6));
    }
    return sum;
  }

  /** A full table build (config change path), in ns per build. */
  @Benchmark
  public MaglevTable build() {
    return MaglevTable.build(keys, null, MaglevTable.DEFAULT_SIZE);
  }
}
