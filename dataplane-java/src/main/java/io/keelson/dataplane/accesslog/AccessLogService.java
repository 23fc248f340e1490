package io.keelson.dataplane.accesslog;

import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.SleepingWaitStrategy;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import io.keelson.dataplane.config.AccessLogConfig;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The access log writer of one proxy process: a bounded multi-producer ring drained by ONE background
 * thread that formats and writes. Event loops never wait: a full ring (a slow or stalled disk, a FIFO
 * nobody reads) drops the record and counts it. Thread-safe.
 */
public final class AccessLogService implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AccessLogService.class);
  public static final int DEFAULT_RING_SIZE = 8192;

  private final Disruptor<AccessLogRecord> disruptor;
  private final RingBuffer<AccessLogRecord> ring;
  public final LongAdder written = new LongAdder();
  public final LongAdder dropped = new LongAdder();
  public final LongAdder writeErrors = new LongAdder();
  private final OutputStream stdout;
  /** Streams the writer opened; the flusher flushes them (buffered streams synchronize write and flush). */
  private final java.util.List<OutputStream> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
  private final java.util.concurrent.ScheduledExecutorService flusher;
  /**
   * How stale a written line may get: writes are flushed by batch age, not per batch (a syscall per request
   * costs more than the log), and by the flusher thread when traffic stops. 1 s as Envoy's
   * {@code file_flush_interval_msec} default: each flusher wake-up costs CPU on the proxy's core even with
   * no traffic (docs/observability.md, session 5). {@code -Dkeelson.accessLog.flushMillis} changes it.
   */
  static final long FLUSH_NANOS = Long.getLong("keelson.accessLog.flushMillis", 1_000) * 1_000_000;
  /**
   * How long the writer sleeps when the ring is empty. Each wake-up is a timer and a context switch on
   * the proxy's core (in a VM, a trip through the hypervisor); at 1 ms, perf showed more of the writer's
   * samples in the kernel's wake-up path than in formatting; at 10 ms the wake-ups were still about half
   * of the writer's CPU (an idle writer used about 1% of a core). 25 ms means batches of about 1,000 lines
   * at 40,000 requests/s, an eighth of the ring's 8,192 slots (docs/observability.md, "levers", session 5).
   */
  static final long WRITER_PARK_NANOS = Long.getLong("keelson.accessLog.parkMicros", 25_000) * 1_000;
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
  /** How long {@link #close} waits for the writer to drain the ring. */
  static final long CLOSE_WAIT_SECONDS = 2;
  /** Lines are written once per ring batch, or when a batch's lines reach this size. */
  static final int BATCH_BYTES = 64 * 1024;

  public AccessLogService(int ringSize) {
    this(ringSize, System.out);
  }

  /** @param stdout where stdout access logs go (tests pass their own stream) */
  public AccessLogService(int ringSize, OutputStream stdout) {
    this.stdout = stdout;
    disruptor = new Disruptor<>(AccessLogRecord::new, ringSize, r -> {
      Thread t = new Thread(r, "keelson-access-log");
      t.setDaemon(true); // a writer stuck on a stalled file must never keep the process alive
      return t;
    }, ProducerType.MULTI, new SleepingWaitStrategy(0, WRITER_PARK_NANOS));
    disruptor.handleEventsWith(new Writer());
    ring = disruptor.start();
    opened.add(stdout);
    flusher = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "keelson-access-log-flush");
      t.setDaemon(true);
      return t;
    });
    // Lines written just before traffic stops are flushed here; a flush blocked on a stalled file only stalls this thread.
    flusher.scheduleWithFixedDelay(this::flushAll, FLUSH_NANOS, FLUSH_NANOS, java.util.concurrent.TimeUnit.NANOSECONDS);
  }

  /**
   * Live loggers per file path: a file stays open while a logger naming it is live, and the writer closes it once none
   * is ({@link AccessLogger#release}), so configs replaced over time do not pile up open files.
   */
  private final Map<String, Integer> liveLoggers = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * A logger for one connection manager's (or tcp_proxy's, udp_proxy's) access logs; formats were checked at config
   * load. Its files stay open until it is {@linkplain AccessLogger#release released}.
   */
  public AccessLogger logger(List<AccessLogConfig> configs) {
    AccessLogger logger = new AccessLogger(configs, this);
    logger.files().forEach(path -> liveLoggers.merge(path, 1, Integer::sum));
    return logger;
  }

  /** Loggers shared by the listeners with equal access_log lists (tcp_proxy, udp_proxy, a listener's own). */
  private final Map<List<AccessLogConfig>, AccessLogger> shared = new java.util.concurrent.ConcurrentHashMap<>();

  /** The logger of {@code configs}, shared by every listener with an equal list until {@link #retainShared} drops it. */
  public AccessLogger shared(List<AccessLogConfig> configs) {
    return shared.computeIfAbsent(List.copyOf(configs), this::logger);
  }

  /** Releases the shared loggers whose list is not in {@code live} (the lists of the config now in service). */
  public void retainShared(java.util.Set<List<AccessLogConfig>> live) {
    shared.entrySet().removeIf(e -> {
      if (live.contains(e.getKey())) {
        return false;
      }
      e.getValue().release();
      return true;
    });
  }

  /** Shared loggers kept now, for tests. */
  public int sharedLoggers() {
    return shared.size();
  }

  /** {@code logger} is no longer in service: its files close once no live logger names them (after its last lines). */
  void release(AccessLogger logger) {
    logger.files().forEach(path -> liveLoggers.computeIfPresent(path, (p, n) -> n == 1 ? null : n - 1));
    long seq; // wakes the writer, which closes what no logger names now; a full ring wakes it anyway
    try {
      seq = ring.tryNext();
    } catch (InsufficientCapacityException e) {
      return;
    }
    ring.get(seq).sequence = seq;
    ring.publish(seq);
  }

  /** Access log files open now (a file is opened with its first line). */
  public int openFiles() {
    return openFiles;
  }

  private volatile int openFiles;

  AccessLogRecord claim(AccessLogger logger) {
    long seq;
    try {
      seq = ring.tryNext();
    } catch (InsufficientCapacityException e) {
      dropped.increment(); // Disruptor throws a preallocated instance: no allocation here
      return null;
    }
    AccessLogRecord r = ring.get(seq);
    r.sequence = seq;
    r.logger = logger;
    if (r.requestHeaders.length < logger.requestHeaders().length) {
      r.requestHeaders = new String[logger.requestHeaders().length];
    }
    if (r.responseHeaders.length < logger.responseHeaders().length) {
      r.responseHeaders = new String[logger.responseHeaders().length];
    }
    return r;
  }

  void publish(AccessLogRecord r) {
    ring.publish(r.sequence);
  }

  /** Records waiting for the writer. */
  public long backlog() {
    return ring.getBufferSize() - ring.remainingCapacity();
  }

  private void flushAll() {
    for (OutputStream out : opened) {
      try {
        out.flush();
      } catch (IOException e) {
        writeErrors.increment();
      }
    }
  }

  /**
   * Writes and flushes every record published before the call, waiting at most {@link #CLOSE_WAIT_SECONDS} for each
   * (a writer blocked on a stalled file must not hold shutdown up for ever: after the wait the ring is halted and what
   * is left is lost), then stops the writer and the flusher. Lines logged just before a proxy stops are in the file when its
   * close returns, as Envoy flushes its access logs on exit.
   */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return; // closed already (a test may close it before the proxy does)
    }
    try {
      disruptor.shutdown(CLOSE_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS); // drains the ring, then halts
      // What the writer wrote since its last flush, on the flusher's thread so a stalled file cannot hold us.
      flusher.submit(this::flushAll).get(CLOSE_WAIT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
    } catch (com.lmax.disruptor.TimeoutException | java.util.concurrent.TimeoutException
        | java.util.concurrent.ExecutionException e) {
      LOG.warn("access logs: not all written and flushed within {} s at close ({} records left); the rest is dropped",
          CLOSE_WAIT_SECONDS, backlog());
      disruptor.halt();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      disruptor.halt();
    }
    flusher.shutdownNow();
  }

  /**
   * The writer thread: formats each record into its output's byte buffer and writes every buffer once
   * per ring batch (one write call per batch, not per line); flushes by batch age.
   */
  private final class Writer implements EventHandler<AccessLogRecord> {
    private final Map<String, OutputStream> files = new HashMap<>();
    /** The lines of the current batch, per output; an output is in {@code pending} once it has some. */
    private final Map<OutputStream, LineBuffer> buffers = new java.util.IdentityHashMap<>();
    private final java.util.ArrayList<OutputStream> pending = new java.util.ArrayList<>();
    private final Map<OutputStream, Boolean> dirty = new java.util.IdentityHashMap<>();

    @Override
    public void onEvent(AccessLogRecord r, long sequence, boolean endOfBatch) {
      AccessLogger logger = r.logger;
      try {
        if (logger != null) {
          for (int i = 0; i < logger.formats.size(); i++) {
            AccessLogFilter filter = logger.filters.get(i);
            if (filter != null && !filter.test(r)) {
              continue;
            }
            OutputStream out = output(logger.paths.get(i));
            if (out != null) {
              LineBuffer b = buffers.get(out);
              if (b.length() == 0) {
                pending.add(out);
              }
              logger.formats.get(i).format(r, b);
              if (b.length() >= BATCH_BYTES) {
                writePending();
              }
            }
          }
          written.increment();
        }
      } finally {
        r.clear();
      }
      if (endOfBatch) {
        writePending();
        if (System.nanoTime() - lastFlush >= FLUSH_NANOS) {
          flush();
        }
        closeUnused();
      }
    }

    /** Closes the files no live logger names (their configs replaced): their lines are written, and flushed here. */
    private void closeUnused() {
      for (var it = files.entrySet().iterator(); it.hasNext(); ) {
        var e = it.next();
        if (liveLoggers.containsKey(e.getKey())) {
          continue;
        }
        it.remove();
        OutputStream out = e.getValue();
        if (out != null) {
          opened.remove(out);
          buffers.remove(out);
          dirty.remove(out);
          try {
            out.close();
          } catch (IOException ex) {
            writeErrors.increment();
          }
        }
      }
      openFiles = files.size();
    }

    /** Writes the buffered lines of every output (one call each). */
    private void writePending() {
      for (int i = 0; i < pending.size(); i++) {
        OutputStream out = pending.get(i);
        LineBuffer b = buffers.get(out);
        try {
          b.writeTo(out);
          dirty.put(out, Boolean.TRUE);
        } catch (IOException e) {
          writeErrors.increment();
        }
        b.setLength(0);
      }
      pending.clear();
    }

    private OutputStream output(String path) {
      if (path == null) {
        buffers.computeIfAbsent(stdout, o -> new LineBuffer(BATCH_BYTES + 1024));
        return stdout;
      }
      OutputStream out = files.get(path);
      if (out == null && !files.containsKey(path)) {
        try {
          out = new java.io.BufferedOutputStream(new FileOutputStream(path, true), 64 * 1024);
        } catch (IOException e) {
          LOG.warn("access log {}: cannot open for appending: {}; its records are dropped", path, e.getMessage());
        }
        files.put(path, out);
        openFiles = files.size();
        if (out != null) {
          opened.add(out);
          buffers.put(out, new LineBuffer(BATCH_BYTES + 1024));
        }
      }
      return out;
    }

    private long lastFlush = System.nanoTime();

    private void flush() {
      lastFlush = System.nanoTime();
      for (OutputStream out : dirty.keySet()) {
        try {
          out.flush();
        } catch (IOException e) {
          writeErrors.increment();
        }
      }
      dirty.clear();
    }

    @Override
    public void onShutdown() {
      writePending();
      flush();
    }
  }
}
