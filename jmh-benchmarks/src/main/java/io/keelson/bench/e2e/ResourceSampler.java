package io.keelson.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Samples a proxy's process tree while load runs: resident memory (VmRSS from /proc/PID/status,
 * summed over the tree, every 200 ms) and CPU time (utime+stime from /proc/PID/stat, start to
 * end). Start with {@link #start}, read with {@link #stop}; one sampler per run, its own thread.
 */
final class ResourceSampler {
  /** Peak and mean RSS in KiB, and CPU used as a percentage of one core over the run. */
  record Usage(long rssPeakKb, long rssMeanKb, double cpuPercent) {
    static final Usage NONE = new Usage(0, 0, Double.NaN);
  }

  private static final long CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux ABI the bench targets

  private final ManagedProcess process;
  private final ScheduledExecutorService timer;
  private final long startTicks;
  private final long startNanos;
  private long peak;
  private long sum;
  private long samples;

  private ResourceSampler(ManagedProcess process) {
    this.process = process;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "keelson-bench-sampler");
      t.setDaemon(true);
      return t;
    });
    this.startTicks = cpuTicks(process.tree());
    this.startNanos = System.nanoTime();
    timer.scheduleAtFixedRate(this::sample, 0, 200, TimeUnit.MILLISECONDS);
  }

  /** Starts sampling; a null process (direct) samples nothing. */
  static ResourceSampler start(ManagedProcess process) {
    return process == null ? null : new ResourceSampler(process);
  }

  static Usage stop(ResourceSampler sampler) {
    return sampler == null ? Usage.NONE : sampler.stop();
  }

  private synchronized void sample() {
    long rss = 0;
    for (ProcessHandle h : process.tree()) {
      rss += rssKb(h.pid());
    }
    if (rss > 0) {
      peak = Math.max(peak, rss);
      sum += rss;
      samples++;
    }
  }

  private Usage stop() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    sample();
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    long ticks = cpuTicks(process.tree()) - startTicks;
    double cpu = seconds <= 0 ? Double.NaN : 100.0 * ticks / CLOCK_TICKS_PER_SECOND / seconds;
    synchronized (this) {
      return new Usage(peak, samples == 0 ? 0 : sum / samples, cpu);
    }
  }

  /** VmRSS of one process in KiB; 0 when it is gone. */
  static long rssKb(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
    return 0;
  }

  static long cpuTicks(List<ProcessHandle> tree) {
    long total = 0;
    for (ProcessHandle h : tree) {
      total += cpuTicks(h.pid());
    }
    return total;
  }

  /** utime + stime of one process (fields 14 and 15 of /proc/PID/stat); 0 when it is gone. */
  static long cpuTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }
}
