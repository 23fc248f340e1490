import io.keelson.bench.jmh.GatewayPipelineBenchmark;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/** Thread-CPU ns per packet of one GatewayPipelineBenchmark method (32 packets per call): args METHOD TRAIN. */
public class CpuBench {
  public static void main(String[] args) throws Exception {
    GatewayPipelineBenchmark b = new GatewayPipelineBenchmark();
    b.memory = "native";
    b.train = Integer.parseInt(args[1]);
    b.setUp();
    var m = GatewayPipelineBenchmark.class.getMethod(args[0]);
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    int sink = 0;
    long end = System.nanoTime() + 4_000_000_000L;
    while (System.nanoTime() < end) {
      for (int i = 0; i < 10_000; i++) sink += call(b, args[0]);
    }
    double[] ns = new double[7];
    for (int w = 0; w < ns.length; w++) {
      long c0 = mx.getCurrentThreadCpuTime();
      long ops = 0;
      long stop = System.nanoTime() + 1_000_000_000L;
      while (System.nanoTime() < stop) {
        for (int i = 0; i < 10_000; i++) sink += call(b, args[0]);
        ops += 10_000;
      }
      ns[w] = (mx.getCurrentThreadCpuTime() - c0) / (ops * 32.0);
    }
    b.tearDown();
    double[] sorted = ns.clone();
    Arrays.sort(sorted);
    System.out.printf("%s train=%s cpu-ns/packet median %.2f min %.2f windows %s (sink %d)%n", args[0], args[1],
        sorted[sorted.length / 2], sorted[0], Arrays.toString(Arrays.stream(ns).map(x -> Math.round(x * 100) / 100.0).toArray()), sink & 1);
  }

  private static int call(GatewayPipelineBenchmark b, String name) {
    return switch (name) {
      case "parseOnly" -> b.parseOnly();
      case "clientBurst" -> b.clientBurst();
      case "backendBurst" -> b.backendBurst();
      default -> throw new IllegalArgumentException(name);
    };
  }
}
