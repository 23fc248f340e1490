package io.keelson.control.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.keelson.control.telemetry.MeshTelemetry;
import io.keelson.control.telemetry.TelemetryResolver.ProxyTelemetry;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The xDS server's one cache of telemetered resources ({@link TelemetryListeners}), by a proxy's listeners version,
 * telemetry, span service name and collector cluster name. An entry keeps the rewritten listeners across translations
 * while those four do not change (an endpoint change rewrites and digests no listener again), and the resources
 * assembled from them per resources instance (the shared translation, or its per-locality variant: {@link
 * LocalityAssignments}) for one collector, which every proxy with that instance and key shares. Bounded (least
 * recently used out; at most {@value #MAX_SOURCES} instances per entry); {@link #clear} when the mesh telemetry changes,
 * {@link #translated} when the mesh is translated again. Not thread-safe: its owner calls it under one lock
 * ({@code XdsServer}'s push lock).
 */
final class TelemetryCache {
  static final int MAX_ENTRIES = 4096;
  /** Resources instances assembled per entry: a translation's per-locality variants (one per caller locality). */
  static final int MAX_SOURCES = 64;

  private record Key(String listenersVersion, ProxyTelemetry telemetry, String serviceName, String collector) {}

  /** The rewritten listeners; for {@code collector}, the resources assembled from each resources instance. */
  private record Cached(TelemetryListeners.Telemetered listeners, Cluster collector,
      Map<MeshResources, MeshResources> assembled) {}

  private final Map<Key, Cached> entries = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Key, Cached> eldest) {
      return size() > MAX_ENTRIES;
    }
  };

  /**
   * {@code r} with telemetry {@code t} written in ({@link TelemetryListeners#apply}); {@code r} itself when {@code t} is
   * {@link ProxyTelemetry#OFF}.
   *
   * @param collector the collector's cluster, or null when tracing has no provider
   */
  MeshResources apply(MeshResources r, ProxyTelemetry t, MeshTelemetry mesh, String serviceName, Cluster collector) {
    if (t.equals(ProxyTelemetry.OFF)) {
      return r;
    }
    Key key = new Key(r.listenersVersion(), t, serviceName, collector == null ? null : collector.getName());
    Cached e = entries.get(key);
    if (e == null || e.collector() != collector) {
      e = new Cached(e != null ? e.listeners() : TelemetryListeners.rewrite(r.listeners(), t, mesh, serviceName,
          key.collector()), collector, new IdentityHashMap<>());
      entries.put(key, e);
    }
    MeshResources assembled = e.assembled().get(r);
    if (assembled == null) {
      if (e.assembled().size() >= MAX_SOURCES) {
        e.assembled().clear();
      }
      assembled = TelemetryListeners.assemble(r, e.listeners(), t, collector);
      e.assembled().put(r, assembled);
    }
    return assembled;
  }

  /** A new translation: entries keep their listeners but no longer the resources of the old one. */
  void translated() {
    entries.values().forEach(e -> e.assembled().clear());
  }

  /** The mesh telemetry changed: nothing rewritten under the old one is kept. */
  void clear() {
    entries.clear();
  }
}
