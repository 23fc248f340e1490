package io.keelson.control.store.etcd;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.time.Duration;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows every key under a prefix: reads the whole prefix, then watches from the next revision, handing
 * each consumer the whole prefix's state after every batch of events. When the watch breaks (etcd down,
 * a compacted revision, a cancel) it reconnects with exponential backoff and reads the whole prefix
 * again, so a gap is never missed; meanwhile consumers keep their last state. Runs on its own daemon
 * thread ({@code keelson-etcd-watch}); consumers are called on it, one at a time.
 */
public final class EtcdWatchLoop implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(EtcdWatchLoop.class);
  static final Duration MIN_BACKOFF = Duration.ofMillis(100);
  static final Duration MAX_BACKOFF = Duration.ofSeconds(3);
  private final EtcdClient client;
  private final String prefix;
  private final List<BiConsumer<Map<String, EtcdClient.KeyValue>, Long>> consumers;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Stream<String> open;
  private volatile long revision;
  private volatile long resyncs;

  public EtcdWatchLoop(EtcdClient client, String prefix,
      List<BiConsumer<Map<String, EtcdClient.KeyValue>, Long>> consumers) {
    this.client = client;
    this.prefix = prefix;
    this.consumers = List.copyOf(consumers);
    this.thread = Thread.ofPlatform().daemon().name("keelson-etcd-watch").unstarted(this::run);
  }

  public EtcdWatchLoop start() {
    thread.start();
    return this;
  }

  /** The revision the consumers last saw. */
  public long revision() {
    return revision;
  }

  /** Times the whole prefix was read (1 at start, one more per reconnect). */
  public long resyncs() {
    return resyncs;
  }

  private void run() {
    Duration backoff = MIN_BACKOFF;
    boolean failing = false;
    while (running) {
      try {
        EtcdClient.Range r = client.range(prefix);
        Map<String, EtcdClient.KeyValue> kvs = new TreeMap<>(r.kvs());
        resyncs++;
        deliver(kvs, r.revision());
        if (failing) {
          LOG.info("etcd watch on {} resumed at revision {}", prefix, r.revision());
          failing = false;
        }
        backoff = MIN_BACKOFF;
        follow(kvs, r.revision());
      } catch (EtcdException | RuntimeException e) {
        if (!running) {
          return;
        }
        if (!failing) {
          LOG.warn("etcd watch on {} broke, serving the last state and retrying with backoff: {}", prefix,
              e.getMessage());
          failing = true;
        }
      }
      try {
        Thread.sleep(backoff);
      } catch (InterruptedException e) {
        return;
      }
      backoff = backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : backoff.multipliedBy(2);
    }
  }

  /** Applies watch events to {@code kvs} until the stream ends or is cancelled. */
  private void follow(Map<String, EtcdClient.KeyValue> kvs, long from) throws EtcdException {
    try (Stream<String> lines = client.watch(prefix, from + 1)) {
      open = lines;
      Iterator<String> it = lines.iterator();
      while (running && hasNext(it)) {
        Struct m = EtcdClient.parse(it.next());
        if (m.containsFields("error")) {
          Struct error = m.getFieldsOrThrow("error").getStructValue();
          throw new EtcdException("etcd at " + client.endpoints() + " ended the watch: "
              + EtcdClient.string(error, "message"));
        }
        Struct result = m.getFieldsOrDefault("result", Value.getDefaultInstance()).getStructValue();
        if (EtcdClient.number(result, "compact_revision") > 0 || EtcdClient.bool(result, "canceled")) {
          LOG.warn("etcd watch on {} cancelled (compacted to revision {}): reading the whole prefix again", prefix,
              EtcdClient.number(result, "compact_revision"));
          return;
        }
        List<Value> events = EtcdClient.list(result, "events");
        if (events.isEmpty()) {
          continue; // created, or progress
        }
        long at = revision;
        for (Value ev : events) {
          Struct e = ev.getStructValue();
          EtcdClient.KeyValue kv = EtcdClient.keyValue(e.getFieldsOrThrow("kv").getStructValue());
          if (EtcdClient.string(e, "type").equals("DELETE")) {
            kvs.remove(kv.key());
          } else {
            kvs.put(kv.key(), kv);
          }
          at = Math.max(at, kv.modRevision());
        }
        // The events' revision, not the header's: a catching-up watcher's header may be ahead of its events.
        deliver(kvs, at);
      }
    } finally {
      open = null;
    }
    if (running) {
      throw new EtcdException("etcd closed the watch on " + prefix);
    }
  }

  private boolean hasNext(Iterator<String> it) throws EtcdException {
    try {
      return it.hasNext();
    } catch (java.io.UncheckedIOException e) {
      throw new EtcdException("the watch connection to etcd at " + client.endpoints() + " broke: "
          + e.getCause().getMessage(), e);
    }
  }

  private void deliver(Map<String, EtcdClient.KeyValue> kvs, long at) {
    Map<String, EtcdClient.KeyValue> view = Collections.unmodifiableMap(kvs);
    for (var c : consumers) {
      try {
        c.accept(view, at);
      } catch (RuntimeException e) {
        LOG.error("etcd watch consumer failed at revision {}", at, e);
      }
    }
    revision = at;
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    Stream<String> s = open;
    if (s != null) {
      s.close();
    }
    thread.interrupt();
    thread.join(2000);
  }
}
