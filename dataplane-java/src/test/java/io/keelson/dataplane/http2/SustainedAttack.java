package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs one HTTP/2 attack against a running in-process proxy for a few seconds, opening a new attacker
 * connection whenever the proxy cuts the last one off, while a well-behaved client sends a request
 * every 100 ms on its own connection. Meanwhile it measures what the attack costs the proxy: the CPU
 * time of the proxy's event-loop threads (found by name, {@code keelson-worker-*}) and the memory it
 * holds (the heap a full GC left plus the direct memory of Netty's default allocator, read once a
 * second, see {@link MemoryReading}). A short unmeasured round first lets the JIT compile the paths the
 * attack takes. Not thread-safe; one run at a time.
 */
final class SustainedAttack {
  /** One attacker connection's work: send frames until {@code stop} says so or the proxy hangs up. */
  interface Round {
    void attack(RawH2 attacker, AtomicBoolean stop) throws IOException, InterruptedException;
  }

  /** Opens an attacker connection (with whatever settings the attack needs). */
  interface Connector {
    RawH2 open() throws IOException;
  }

  /**
   * What one measured run saw.
   *
   * @param seconds        wall time of the measured attack
   * @param connections    attacker connections used (1 when the proxy never cut one off)
   * @param framesSent     frames the attacker managed to write
   * @param proxyCpuNanos  CPU time the proxy's event loops spent during the attack
   * @param memoryGrowth   highest reading of {@link MemoryReading} during the attack, minus the one before it
 * @param memoryNoise    the most that was allocated between a forced GC and its reading (what reading the heap in
 *                       use would have added to the growth)
   * @param goodServed     well-behaved requests answered 200 during the attack
   * @param goodFailed     well-behaved requests that failed or timed out
   * @param goodWorstMillis slowest well-behaved request
   */
  record Report(double seconds, long connections, long framesSent, long proxyCpuNanos, long memoryGrowth,
      long memoryNoise, int goodServed, int goodFailed, long goodWorstMillis) {
    /** Milliseconds of proxy CPU per second of attack. */
    double cpuMillisPerSecond() {
      return proxyCpuNanos / 1e6 / seconds;
    }

    /** Microseconds of proxy CPU per attack frame sent. */
    double cpuMicrosPerFrame() {
      return proxyCpuNanos / 1e3 / Math.max(1, framesSent);
    }

    @Override
    public String toString() {
      return String.format("%.1f s, %d attacker connections, %d frames; proxy CPU %.0f ms/s (%.2f µs/frame);"
          + " memory growth %.1f MiB (%.1f MiB allocated between a GC and its reading); good client %d served, %d failed, worst %d ms",
          seconds, connections, framesSent, cpuMillisPerSecond(), cpuMicrosPerFrame(), memoryGrowth / 1048576.0,
          memoryNoise / 1048576.0, goodServed, goodFailed, goodWorstMillis);
    }
  }

  static final String PROXY_THREADS = "keelson-worker-";
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();

  private final Connector connector;
  private final Round round;
  private final int goodPort;

  SustainedAttack(int goodPort, Connector connector, Round round) {
    this.goodPort = goodPort;
    this.connector = connector;
    this.round = round;
  }

  /** What a test does between the warm-up and the measured attack. */
  interface Baseline {
    void take() throws Exception;
  }

  /** Warms up for {@code warmup}, then attacks for {@code length} while measuring. */
  Report run(Duration warmup, Duration length) throws Exception {
    return run(warmup, () -> {}, length);
  }

  /**
   * Warms up for {@code warmup}, runs {@code baseline} (where a test reads the proxy's counters, so that what the
   * warm-up's connections did is not counted against the measured ones), then attacks for {@code length} while measuring.
   */
  Report run(Duration warmup, Baseline baseline, Duration length) throws Exception {
    attack(warmup, null);
    Thread.sleep(200); // let the warm-up's connections close before the baseline
    baseline.take();
    return attack(length, new H2Client(goodPort));
  }

  private Report attack(Duration length, H2Client good) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong connections = new AtomicLong();
    AtomicLong frames = new AtomicLong();
    List<RawH2> open = new ArrayList<>();
    Thread attacker = new Thread(() -> {
      while (!stop.get()) {
        RawH2 a;
        try {
          a = connector.open();
        } catch (IOException e) {
          continue; // the accept queue was full for a moment: try again
        }
        synchronized (open) {
          open.add(a);
        }
        connections.incrementAndGet();
        try {
          round.attack(a, stop);
        } catch (IOException e) {
          // cut off by the proxy: the next round opens a new connection
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          stop.set(true);
        }
        frames.addAndGet(a.framesSent());
        if (!stop.get()) { // a finished round's connection is done: close it (the last one stays open to be measured)
          close(a);
          synchronized (open) {
            open.remove(a);
          }
        }
      }
    }, "attacker");
    attacker.setDaemon(true);

    MemoryReading memory = new MemoryReading();
    long memoryBefore = good == null ? 0 : memory.take();
    long cpuBefore = proxyCpuNanos();
    long start = System.nanoTime();
    attacker.start();
    long end = start + length.toNanos();
    long nextSample = start + TimeUnit.SECONDS.toNanos(1);
    long memoryPeak = memoryBefore;
    int served = 0, failed = 0;
    long worst = 0;
    while (System.nanoTime() < end) {
      if (good != null) {
        long t0 = System.nanoTime();
        try {
          FullHttpResponse r = good.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/fine"))
              .get(10, TimeUnit.SECONDS);
          if (r.status().code() == 200) {
            served++;
          } else {
            failed++;
          }
          r.release();
        } catch (Exception e) {
          failed++;
        }
        worst = Math.max(worst, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        if (System.nanoTime() > nextSample) {
          memoryPeak = Math.max(memoryPeak, memory.take());
          nextSample = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
        }
      }
      Thread.sleep(100);
    }
    if (good != null) {
      memoryPeak = Math.max(memoryPeak, memory.take()); // the attacker's last connection is still open
    }
    long cpuAfter = proxyCpuNanos();
    double seconds = (System.nanoTime() - start) / 1e9;
    stop.set(true);
    List<RawH2> left;
    synchronized (open) {
      left = List.copyOf(open);
    }
    left.forEach(SustainedAttack::close); // a write blocked on a connection the proxy no longer reads fails now
    attacker.join(TimeUnit.SECONDS.toMillis(20));
    assertThat(attacker.isAlive()).as("the attacker thread ends once its connections are closed").isFalse();
    synchronized (open) {
      left = List.copyOf(open); // with any connection opened while the attack was stopping
    }
    left.forEach(SustainedAttack::close);
    left.forEach(a -> frames.addAndGet(a.framesSent()));
    if (good != null) {
      good.close();
    }
    return new Report(seconds, connections.get(), frames.get(), cpuAfter - cpuBefore, memoryPeak - memoryBefore,
        memory.allocatedMeanwhile, served, failed, worst);
  }

  private static void close(RawH2 a) {
    try {
      a.close();
    } catch (IOException e) {
      // already closed
    }
  }

  /** CPU time used so far by the live threads of the proxy's worker event loops. */
  static long proxyCpuNanos() {
    long sum = 0;
    for (ThreadInfo t : THREADS.getThreadInfo(THREADS.getAllThreadIds())) {
      if (t != null && t.getThreadName().startsWith(PROXY_THREADS)) {
        long cpu = THREADS.getThreadCpuTime(t.getThreadId());
        sum += Math.max(0, cpu);
      }
    }
    return sum;
  }

  /**
   * Readings of the memory the proxy holds: the heap a forced full GC left (each heap pool's usage after its last
   * collection) plus the direct memory of Netty's default allocator and NIO buffers.
   *
   * <p>Not the heap in use when read after the GC, as before: the attacker (in this JVM) and the proxy go on allocating
   * between the end of the GC and that read, and whatever they allocate there is garbage the reading counted. A fast
   * attacker on a quiet machine allocates a 70 KB header block and its copies per stream, so that error reached
   * several MiB and once took the header-list attack's reading to 20.3 MiB, over its 16 MiB bound, with no retention.
   * {@link #allocatedMeanwhile} is the most that error was in this run's readings.
   */
  private static final class MemoryReading {
    long allocatedMeanwhile;

    long take() {
      System.gc();
      long left = 0;
      for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
        if (pool.getType() == MemoryType.HEAP && pool.getCollectionUsage() != null) {
          left += pool.getCollectionUsage().getUsed();
        }
      }
      allocatedMeanwhile = Math.max(allocatedMeanwhile, MEMORY.getHeapMemoryUsage().getUsed() - left);
      return left + directMemory();
    }
  }

  /** Direct memory held by Netty's default allocator and by NIO buffers. */
  private static long directMemory() {
    long direct = 0;
    if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider m) {
      direct += m.metric().usedDirectMemory();
    }
    for (BufferPoolMXBean pool : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
      if (pool.getName().equals("direct")) {
        direct += pool.getMemoryUsed();
      }
    }
    return direct;
  }
}
