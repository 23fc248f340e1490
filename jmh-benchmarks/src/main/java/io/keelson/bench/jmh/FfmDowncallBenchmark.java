package io.keelson.bench.jmh;

import io.keelson.dataplane.internal.ffm.DowncallProbe;
import io.keelson.dataplane.internal.ffm.Dpdk;
import io.keelson.dataplane.internal.ffm.DpdkPort;
import io.keelson.dataplane.internal.ffm.Mempool;
import io.keelson.dataplane.internal.ffm.PortSettings;
import io.keelson.dataplane.internal.ffm.RxBurst;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The FFM downcall with and without {@code Linker.Option.critical(false)}: a trivial call
 * (dp_abi_version) and a burst round trip on net_null (rx_burst of 32 + tx_burst of 32, which is what
 * a poller does per burst). Baseline for the choice of {@code keelson.dpdk.critical}'s default.
 * Run: {@code java --enable-native-access=ALL-UNNAMED -Dkeelson.native.dir=build/native/dataplane-native
 * -cp ... org.openjdk.jmh.Main FfmDowncallBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FfmDowncallBenchmark {
  private DpdkPort port;
  private RxBurst burst;
  private Mempool pool;

  @Setup
  public void setUp() {
    Dpdk.ensureAvailable();
    Dpdk.initEal(List.of("--no-huge", "--no-pci", "-m", "256", "--no-shconf", "--file-prefix",
        "keelson-jmh-" + ProcessHandle.current().pid(), "--log-level", "*:error"));
    Dpdk.registerThread();
    pool = Mempool.create("jmh-ffm", 4095, 256, 2176, Mempool.SOCKET_ANY);
    Dpdk.createVdev("net_null9", "size=64,copy=0");
    port = DpdkPort.byName("net_null9");
    port.configure(PortSettings.simple(1024), pool);
    port.start();
    burst = new RxBurst(32);
  }

  @TearDown
  public void tearDown() {
    port.stop();
    port.close();
    burst.close();
    // --no-shconf still creates the EAL runtime directory; the prefix is this fork's own.
    java.io.File dir = new java.io.File("/var/run/dpdk", "keelson-jmh-" + ProcessHandle.current().pid());
    java.io.File[] files = dir.listFiles();
    if (files != null) {
      for (java.io.File f : files) {
        f.delete();
      }
    }
    dir.delete();
  }

  @Benchmark
  public int abiVersionPlain() {
    return DowncallProbe.abiVersionPlain();
  }

  @Benchmark
  public int abiVersionCritical() {
    return DowncallProbe.abiVersionCritical();
  }

  /** One rx_burst(32) + tx_burst(32) on net_null; divide by 32 for per packet. */
  @Benchmark
  public int burstRoundTripPlain() {
    return DowncallProbe.forwardPlain(port, burst);
  }

  @Benchmark
  public int burstRoundTripCritical() {
    return DowncallProbe.forwardCritical(port, burst);
  }
}
