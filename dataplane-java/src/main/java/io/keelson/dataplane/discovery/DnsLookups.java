package io.keelson.dataplane.discovery;

import io.keelson.dataplane.config.DnsResolution;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.security.Security;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A DNS cluster's name lookups, never on a proxy's event loop: the JDK's blocking lookup on a few threads of its own
 * with a bounded queue (the default: the system's resolver, no TTLs), or {@link DnsClient} when the cluster has a
 * resolver config or respect_dns_ttl; and the timers that start them. Answers are handed to the caller's callbacks on
 * a lookup thread or the timer thread. Thread-safe.
 */
final class DnsLookups implements AutoCloseable {
  /** JDK lookups running at once; more wait in the executor's queue (a resolver that hangs holds at most this many threads). */
  static final int THREADS = 4;
  /**
   * Lookups started at most (running or in the executor's queue, or DnsClient's in flight); more wait their turn in
   * {@link #waiting}, which holds at most one lookup per name of a DNS cluster (a name's next lookup is timed from its
   * answer), so it is bounded by the clusters' names.
   */
  static final int QUEUE = 256;

  static {
    // The JDK caches positive answers 30 s by default, which would hide a change from every refresh before it:
    // DNS clusters refresh on their own timers, so the process does not cache unless the operator said otherwise.
    if (Security.getProperty("networkaddress.cache.ttl") == null && System.getProperty("sun.net.inetaddr.ttl") == null) {
      Security.setProperty("networkaddress.cache.ttl", "0");
    }
  }

  private final ThreadPoolExecutor lookups;
  private final ScheduledThreadPoolExecutor timers;
  private final int limit;
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>(); // lookups past the limit, oldest first; guarded by this
  private int started; // lookups started and not yet answered; guarded by this
  private DnsClient client; // created with the first cluster that needs it; guarded by this
  private boolean closed; // guarded by this

  DnsLookups() {
    this(QUEUE);
  }

  /** At most {@code limit} (1..{@link #QUEUE}) lookups started at once (tests lower it). */
  DnsLookups(int limit) {
    if (limit < 1 || limit > QUEUE) {
      throw new IllegalArgumentException("limit " + limit + ": expected 1.." + QUEUE);
    }
    this.limit = limit;
    lookups = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE),
        daemonFactory("keelson-dns-lookup"));
    lookups.allowCoreThreadTimeOut(true); // no idle threads without DNS clusters
    timers = new ScheduledThreadPoolExecutor(1, daemonFactory("keelson-dns-refresh"));
    timers.setRemoveOnCancelPolicy(true); // a removed cluster's timer goes with it
  }

  static ThreadFactory daemonFactory(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true); // a lookup stuck on a dead resolver must not keep the process alive
      return t;
    };
  }

  /**
   * Looks {@code host} up off the caller's thread as {@code dns} says: {@code done} gets the addresses its
   * dns_lookup_family keeps, or {@code failed} the error. Past {@link #QUEUE} lookups started, it waits its turn.
   */
  void resolve(String host, DnsResolution dns, Consumer<DnsAnswer> done, Consumer<Exception> failed) {
    Runnable lookup = () -> start(host, dns, answer -> {
      release();
      done.accept(answer);
    }, error -> {
      release();
      failed.accept(error);
    });
    synchronized (this) {
      if (started >= limit) {
        waiting.add(lookup);
        return;
      }
      started++;
    }
    lookup.run();
  }

  /** Hands a finished lookup's turn to the oldest waiting one, started on the timer thread (never nested in a callback). */
  private void release() {
    Runnable next;
    synchronized (this) {
      next = waiting.poll();
      if (next == null) {
        started--;
        return;
      }
    }
    try {
      timers.execute(next);
    } catch (RejectedExecutionException e) { // closed: the waiting lookups are dropped with their clusters
      synchronized (this) {
        started--;
      }
    }
  }

  private void start(String host, DnsResolution dns, Consumer<DnsAnswer> done, Consumer<Exception> failed) {
    if (dns.needsDnsClient()) {
      DnsClient c = client();
      if (c == null) {
        failed.accept(new UnknownHostException(host + ": closed"));
      } else {
        c.resolve(host, dns, done, failed);
      }
      return;
    }
    try {
      lookups.execute(() -> {
        InetAddress[] answer;
        try {
          answer = InetAddress.getAllByName(host);
        } catch (UnknownHostException | RuntimeException e) {
          failed.accept(e);
          return;
        }
        done.accept(new DnsAnswer(dns.family().pick(answer), DnsAnswer.NO_TTL));
      });
    } catch (RejectedExecutionException e) { // closed (the queue holds every lookup started)
      failed.accept(new UnknownHostException(host + ": closed"));
    }
  }

  /** Runs {@code task} after {@code delay} on the timer thread (it must not block: start lookups from it). */
  ScheduledFuture<?> after(Duration delay, Runnable task) {
    return timers.schedule(task, delay.toNanos(), TimeUnit.NANOSECONDS);
  }

  private synchronized DnsClient client() {
    if (client == null && !closed) {
      client = new DnsClient(timers);
    }
    return client;
  }

  @Override
  public void close() {
    synchronized (this) {
      closed = true;
      if (client != null) {
        client.close();
      }
    }
    timers.shutdownNow();
    lookups.shutdownNow();
  }
}
