package io.keelson.dataplane.xds;

import io.envoyproxy.envoy.config.core.v3.ConfigSource;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * The initial fetch deadline of each served secret a cluster waits for, as Envoy's SDS subscriptions: the secret's
 * ConfigSource {@code initial_fetch_timeout} (unset: 15 s; 0: none) counted from when a cluster first waited for it;
 * once it passes the cluster stops waiting (and runs with the secret missing, its handshakes failing closed until it
 * arrives). Confined to the xDS client's owner thread.
 */
final class SecretFetchTimers {
  /** Runs a task on the owner thread after a delay; the returned handle cancels it. */
  interface Scheduler {
    Runnable schedule(Duration after, Runnable task);
  }

  /** Envoy's default {@code initial_fetch_timeout}. */
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(15);

  private final Map<String, Runnable> pending = new HashMap<>();
  private final Set<String> expired = new HashSet<>();
  private Scheduler scheduler;

  /** Starts counting on {@code scheduler}; before this (a cache without a client) deadlines are never armed. */
  void useScheduler(Scheduler s) {
    this.scheduler = s;
  }

  /** The deadline a secret's ConfigSource sets: null for none. */
  static Duration timeoutOf(ConfigSource source) {
    if (!source.hasInitialFetchTimeout()) {
      return DEFAULT_TIMEOUT;
    }
    var d = source.getInitialFetchTimeout();
    Duration t = Duration.ofSeconds(d.getSeconds(), d.getNanos());
    return t.isZero() ? null : t;
  }

  /** True once {@code name}'s deadline passed while it was awaited. */
  boolean expired(String name) {
    return expired.contains(name);
  }

  /** Arms {@code name}'s deadline unless armed or passed; {@code onExpiry} runs on the owner thread when it passes. */
  void await(String name, Duration timeout, Runnable onExpiry) {
    if (timeout == null || scheduler == null || pending.containsKey(name) || expired.contains(name)) {
      return;
    }
    pending.put(name, scheduler.schedule(timeout, () -> {
      if (pending.remove(name) != null) {
        expired.add(name);
        onExpiry.run();
      }
    }));
  }

  /** Forgets the deadlines of secrets no longer awaited (arrived, or no cluster names them any more). */
  void retain(Set<String> awaited, Set<String> referenced) {
    pending.entrySet().removeIf(e -> {
      if (awaited.contains(e.getKey())) {
        return false;
      }
      e.getValue().run();
      return true;
    });
    expired.retainAll(referenced);
  }
}
