package io.keelson.dataplane.discovery;

import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.DnsResolution;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.stats.ClusterStats;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One DNS cluster's background resolution, per name as Envoy's STRICT_DNS: each distinct host name of its endpoints
 * looked up on a timer of its own (one per name, so as many as the cluster has names), its latest answer kept (a failed
 * lookup keeps the previous answer, as Envoy), its next lookup after dns_refresh_rate (with respect_dns_ttl, its own
 * answer's least TTL) plus dns_jitter or, after a failure, dns_failure_refresh_rate's jittered exponential backoff of
 * that name's failures. Thread-safe: lookup threads report, the owner reads under this object's lock.
 */
final class DnsClusterResolution {
  private final ClusterConfig source;
  private final DnsResolution dns;
  private final DnsLookups lookups;
  private final ClusterStats stats;
  private final Runnable changed;
  /** Each distinct host name of the endpoints, in their order. */
  private final Map<String, Name> names = new LinkedHashMap<>(); // the map fixed at construction; entries guarded by this
  private int waiting; // names without a first answer or failure yet; guarded by this
  private boolean stopped; // guarded by this

  /** One name's state. Guarded by the resolution's lock. */
  private static final class Name {
    final String host;
    List<InetAddress> addresses = List.of(); // of its latest answer (after dns_lookup_family); empty before one
    boolean done; // its first lookup finished
    int failures; // lookups failed in a row
    ScheduledFuture<?> timer;

    Name(String host) {
      this.host = host;
    }
  }

  DnsClusterResolution(ClusterConfig source, DnsLookups lookups, ClusterStats stats, Runnable changed) {
    this.source = source;
    this.dns = source.dns();
    this.lookups = lookups;
    this.stats = stats;
    this.changed = changed;
    for (EndpointConfig e : source.endpoints()) {
      names.computeIfAbsent(e.host(), Name::new);
    }
    waiting = names.size();
  }

  ClusterConfig source() {
    return source;
  }

  /** True when {@code c} is this cluster as configured or as resolved from it (its endpoints aside, equal). */
  boolean isFrom(ClusterConfig c) {
    return c.equals(source) || c.withEndpoints(source.endpoints()).equals(source);
  }

  /** True once every name's first lookup finished (answered or failed): the cluster no longer warms. */
  synchronized boolean done() {
    return waiting == 0;
  }

  /** Starts every name's first lookup now. */
  void start() {
    names.values().forEach(this::refresh);
  }

  synchronized void stop() {
    stopped = true;
    for (Name n : names.values()) {
      if (n.timer != null) {
        n.timer.cancel(false);
      }
    }
  }

  /**
   * The cluster with its latest answers as endpoints: STRICT_DNS every address of every name (each with its endpoint's
   * port, weight, locality and priority), LOGICAL_DNS the first address of its one name.
   */
  synchronized ClusterConfig resolved() {
    Set<EndpointConfig> hosts = new LinkedHashSet<>();
    for (EndpointConfig e : source.endpoints()) {
      for (InetAddress a : names.get(e.host()).addresses) {
        hosts.add(e.withHost(NetUtil.toAddressString(a)));
        if (dns.logical()) {
          break;
        }
      }
    }
    return source.withEndpoints(List.copyOf(hosts));
  }

  private void refresh(Name n) {
    synchronized (this) {
      if (stopped) {
        return;
      }
    }
    stats.updateAttempt.increment();
    lookups.resolve(n.host, dns, answer -> finish(n, answer), error -> finish(n, null));
  }

  /** Takes {@code n}'s lookup: its {@code answer}, null after a failure. */
  private void finish(Name n, DnsAnswer answer) {
    boolean change = false;
    synchronized (this) {
      if (stopped) {
        return;
      }
      if (!n.done) {
        n.done = true;
        waiting--;
        change = waiting == 0; // the cluster stops warming
      }
      if (answer != null && !answer.addresses().equals(n.addresses)) { // a failed name keeps its previous answer
        n.addresses = answer.addresses();
        change = true;
      }
      n.failures = answer == null ? n.failures + 1 : 0;
      n.timer = lookups.after(answer == null ? backoff(n.failures) : next(answer), () -> refresh(n));
    }
    (answer == null ? stats.updateFailure : stats.updateSuccess).increment();
    if (change) {
      changed.run();
    }
  }

  /**
   * The pause after a successful lookup: dns_refresh_rate, or with respect_dns_ttl the least TTL of the answer's
   * records, as Envoy (a TTL of 0, or none, leaves dns_refresh_rate); plus up to dns_jitter.
   */
  private Duration next(DnsAnswer answer) {
    Duration pause = dns.respectTtl() ? refreshAfterTtl(answer.ttlSeconds(), dns.refreshRate()) : dns.refreshRate();
    long jitter = dns.jitter().toMillis();
    return jitter == 0 ? pause : pause.plusMillis(ThreadLocalRandom.current().nextLong(jitter));
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
