package io.keelson.bench.xds;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;

/**
 * CPU time of the benchmark's JVM split by who spent it, from per-thread CPU times: the control
 * plane (gRPC server threads, and the applying thread while {@code apply} runs), the simulated
 * proxies (their own event loops and callback threads, see {@link ConvergenceBenchmark}), and the
 * rest (the JVM's GC and JIT threads, the waiting loop). Only meaningful when the simulated proxies
 * do not share the server's event loops ({@code -Dkeelson.bench.xds.splitCpu=true}). Main thread only.
 */
final class CpuByRole {
  static final String CLIENT_LOOP = "bench-client-elg";
  static final String CLIENT_CALLBACKS = "bench-xds-clients";
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  /** CPU nanoseconds: control plane, simulated proxies, whole process. */
  record Sample(long server, long clients, long process) {
    Sample minus(Sample o) {
      return new Sample(server - o.server, clients - o.clients, process - o.process);
    }
  }

  private CpuByRole() {}

  /** A sample now; {@code applyNanos} is the applying thread's CPU inside {@code apply} so far (control plane work). */
  static Sample sample(long applyNanos) {
    long server = applyNanos;
    long clients = 0;
    long[] ids = THREADS.getAllThreadIds();
    ThreadInfo[] infos = THREADS.getThreadInfo(ids);
    for (int i = 0; i < ids.length; i++) {
      if (infos[i] == null) {
        continue;
      }
      long cpu = THREADS.getThreadCpuTime(ids[i]);
      if (cpu < 0) {
        continue;
      }
      String name = infos[i].getThreadName();
      if (name.startsWith(CLIENT_LOOP) || name.startsWith(CLIENT_CALLBACKS)) {
        clients += cpu;
      } else if (name.startsWith("grpc-")) {
        server += cpu;
      }
    }
    long process = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
    return new Sample(server, clients, process);
  }

  /** CPU of the calling thread. */
  static long currentThread() {
    return THREADS.getCurrentThreadCpuTime();
  }
}
