package io.keelson.dataplane.discovery;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.DnsResolution;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.stats.ClusterStats;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One DNS cluster's background resolution: every endpoint's host name looked up each refresh, the latest answers kept
 * (a failed lookup keeps the previous answer of that name, as Envoy), the next refresh scheduled after
 * dns_refresh_rate (with respect_dns_ttl, the records' least TTL) or, after a failure, dns_failure_refresh_rate's jittered exponential backoff. Thread-safe: lookup
 * threads report, the owner reads under this object's lock.
 */
final class DnsClusterResolution {
  private final ClusterConfig source;
  private final DnsResolution dns;
  private final DnsLookups lookups;
  private final ClusterStats stats;
  private final Runnable changed;
  /** Per source endpoint, the addresses of its latest answer (after dns_lookup_family); empty before one. */
  private final List<List<InetAddress>> answers = new ArrayList<>(); // guarded by this
  private boolean done; // the first refresh finished; guarded by this
  private int failures; // refreshes failed in a row; guarded by this
  private boolean stopped; // guarded by this
  private ScheduledFuture<?> timer; // guarded by this

  DnsClusterResolution(ClusterConfig source, DnsLookups lookups, ClusterStats stats, Runnable changed) {
    this.source = source;
    this.dns = source.dns();
    this.lookups = lookups;
    this.stats = stats;
    this.changed = changed;
    for (int i = 0; i < source.endpoints().size(); i++) {
      answers.add(List.of());
    }
  }

  ClusterConfig source() {
    return source;
  }

  /** True when {@code c} is this cluster as configured or as resolved from it (its endpoints aside, equal). */
  boolean isFrom(ClusterConfig c) {
    return c.equals(source) || c.withEndpoints(source.endpoints()).equals(source);
  }

  synchronized boolean done() {
    return done;
  }

  /** Starts the first lookup now. */
  void start() {
    refresh();
  }

  synchronized void stop() {
    stopped = true;
    if (timer != null) {
      timer.cancel(false);
    }
  }

  /**
   * The cluster with its latest answers as endpoints: STRICT_DNS every address of every name (each with its endpoint's
   * port, weight, locality and priority), LOGICAL_DNS the first address of its one name.
   */
  synchronized ClusterConfig resolved() {
    Set<EndpointConfig> hosts = new LinkedHashSet<>();
    for (int i = 0; i < answers.size(); i++) {
      EndpointConfig e = source.endpoints().get(i);
      for (InetAddress a : answers.get(i)) {
        hosts.add(e.withHost(NetUtil.toAddressString(a)));
        if (dns.logical()) {
          break;
        }
      }
    }
    return source.withEndpoints(List.copyOf(hosts));
  }

  private void refresh() {
    List<EndpointConfig> endpoints = source.endpoints();
    synchronized (this) {
      if (stopped) {
        return;
      }
    }
    stats.updateAttempt.increment();
    if (endpoints.isEmpty()) {
      finish(new DnsAnswer[0], false);
      return;
    }
    DnsAnswer[] got = new DnsAnswer[endpoints.size()];
    AtomicInteger left = new AtomicInteger(endpoints.size());
    boolean[] failed = {false}; // written before the decrement that publishes it to the last lookup's thread
    for (int i = 0; i < endpoints.size(); i++) {
      int at = i;
      lookups.resolve(endpoints.get(i).host(), dns, answer -> {
        got[at] = answer;
        if (left.decrementAndGet() == 0) {
          finish(got, failed[0]);
        }
      }, error -> {
        failed[0] = true;
        if (left.decrementAndGet() == 0) {
          finish(got, failed[0]);
        }
      });
    }
  }

  private void finish(DnsAnswer[] got, boolean failed) {
    boolean change;
    synchronized (this) {
      if (stopped) {
        return;
      }
      change = !done;
      done = true;
      for (int i = 0; i < got.length; i++) {
        if (got[i] != null && !got[i].addresses().equals(answers.get(i))) { // a failed name keeps its previous answer
          answers.set(i, got[i].addresses());
          change = true;
        }
      }
      failures = failed ? failures + 1 : 0;
      timer = lookups.after(failed ? backoff(failures) : next(got), this::refresh);
    }
    (failed ? stats.updateFailure : stats.updateSuccess).increment();
    if (change) {
      changed.run();
    }
  }

  /**
   * The pause after a successful refresh: dns_refresh_rate, or with respect_dns_ttl the least TTL of the answers'
   * records, as Envoy (a TTL of 0, or none, leaves dns_refresh_rate).
   */
  private Duration next(DnsAnswer[] got) {
    if (!dns.respectTtl()) {
      return dns.refreshRate();
    }
    long ttl = Long.MAX_VALUE;
    for (DnsAnswer a : got) {
      if (a != null && usableTtl(a.ttlSeconds())) {
        ttl = Math.min(ttl, a.ttlSeconds());
      }
    }
    return refreshAfterTtl(ttl, dns.refreshRate());
  }

  /** The longest pause respect_dns_ttl takes, whatever the TTL (so a bad record cannot freeze the hosts for days). */
  static final long MAX_TTL_SECONDS = 3600;

  /**
   * The pause a least TTL of {@code ttlSeconds} gives: dns_refresh_rate when there is none, it is 0, or it has the top
   * bit set (RFC 2181 §8: read as 0); at most {@link #MAX_TTL_SECONDS}.
   */
  static Duration refreshAfterTtl(long ttlSeconds, Duration refreshRate) {
    return usableTtl(ttlSeconds) ? Duration.ofSeconds(Math.min(ttlSeconds, MAX_TTL_SECONDS)) : refreshRate;
  }

  private static boolean usableTtl(long ttlSeconds) {
    return ttlSeconds > 0 && ttlSeconds < 1L << 31;
  }

  /** Envoy's jittered exponential backoff: uniform below min(base × 2^(n-1), max), at least 1 ms. */
  private Duration backoff(int n) {
    long base = dns.failureBase().toMillis();
    long ceiling = Math.min(n > 30 ? Long.MAX_VALUE : base << Math.min(n - 1, 30), dns.failureMax().toMillis());
    return Duration.ofMillis(Math.max(1, ThreadLocalRandom.current().nextLong(Math.max(1, ceiling))));
  }
}
