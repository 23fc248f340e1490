package io.keelson.control.telemetry;

import io.keelson.control.policy.LabelSelector;
import io.keelson.control.policy.Policy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Resolves Istio {@code Telemetry} for one workload into what its outbound (CLIENT) and inbound (SERVER) listeners
 * run. Istio's hierarchy: the mesh defaults ({@link MeshTelemetry}), then the root namespace's Telemetry without a
 * selector, then its namespace's without a selector, then the one whose {@code selector.matchLabels} its labels
 * include or whose {@code targetRefs} name a Gateway API Gateway it serves (Istio's gateway attachment, at the
 * workload level): Gateway NAME of the Telemetry's namespace exists and its selector ({@value Policy.Gateway#NAME_LABEL}:
 * NAME) matches the proxy's labels, whatever the proxy's own namespace, as Gateways are bound to proxies by label only
 * ({@code GatewayTranslator}). At each level the entries whose {@code match.mode} covers a direction override, field by
 * field, what the level above set for it. Where several documents apply at one level (Istio calls that invalid), the first by name
 * wins. An access log entry turns the {@value MeshTelemetry#ENVOY} provider on (its providers, or the default when it
 * names none) unless {@code disabled: true}; a tracing entry may change the provider, the sampling and whether spans
 * are reported; a metrics override turns its metrics off ({@code disabled}) or changes their tags ({@code tagOverrides},
 * merged tag by tag down the levels). Providers the control plane does not have (a document from a config directory written for another
 * replica's flags) turn that direction's logging or tracing off. Stateless.
 */
public final class TelemetryResolver {
  /**
   * What one direction's listeners run: the access log on or off and its {@code accessLogFilter} (a CEL expression;
   * null: every request), and tracing (off when not {@code traced}).
   */
  public record Side(boolean accessLog, boolean traced, double samplingPercent, Map<String, MetricSettings> metrics,
      String accessLogFilter) {
    static final Side OFF = new Side(false, false, 0);

    public Side {
      metrics = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(metrics));
    }

    /** Without an access-log filter. */
    public Side(boolean accessLog, boolean traced, double samplingPercent, Map<String, MetricSettings> metrics) {
      this(accessLog, traced, samplingPercent, metrics, null);
    }

    /** Without metric overrides or an access-log filter. */
    public Side(boolean accessLog, boolean traced, double samplingPercent) {
      this(accessLog, traced, samplingPercent, Map.of());
    }
  }

  /**
   * One metric's overrides on one side (by its istio.stats name, e.g. {@code requests_total}).
   *
   * @param disabled the metric is not reported
   * @param tags     tag to its value expression, or null where it is removed; in the order they were set
   */
  public record MetricSettings(boolean disabled, Map<String, String> tags) {
    public MetricSettings {
      tags = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(tags));
    }
  }

  /** A workload's telemetry: its outbound listeners' ({@code client}) and its inbound listeners' ({@code server}). */
  public record ProxyTelemetry(Side client, Side server) {
    public static final ProxyTelemetry OFF = new ProxyTelemetry(Side.OFF, Side.OFF);

    public boolean traced() {
      return client.traced() || server.traced();
    }

    /**
     * This telemetry as a gateway runs it: every listener of a gateway is CLIENT (Istio's {@code WorkloadMode}: "if
     * the workload is a gateway, selects this"; istiod builds gateway listeners as outbound), so the SERVER entries
     * reach no gateway listener and the CLIENT side is what both directions carry.
     */
    public ProxyTelemetry asGateway() {
      return client.equals(server) ? this : new ProxyTelemetry(client, client);
    }
  }

  private TelemetryResolver() {}

  /**
   * @param namespace the workload's namespace (its SPIFFE ID's; {@code default} without one)
   * @param labels    its labels
   * @param gateways  the state's Gateways: a {@code targetRefs} Telemetry reaches the proxies its Gateways select
   */
  public static ProxyTelemetry resolve(String namespace, Map<String, String> labels, Collection<Policy.Telemetry> all,
      Collection<Policy.Gateway> gateways, MeshTelemetry mesh, String rootNamespace) {
    List<Policy.Telemetry> sorted = new ArrayList<>(all);
    sorted.sort(Comparator.comparing(Policy::name));
    Policy.Telemetry root = null;
    Policy.Telemetry ns = null;
    Policy.Telemetry workload = null;
    for (Policy.Telemetry t : sorted) {
      if (!t.targetGateways().isEmpty()) {
        if (workload == null && servesTarget(t, gateways, labels)) {
          workload = t;
        }
      } else if (t.selector() == null) {
        if (t.namespace().equals(rootNamespace) && root == null) {
          root = t;
        } else if (t.namespace().equals(namespace) && !namespace.equals(rootNamespace) && ns == null) {
          ns = t;
        }
      } else if (t.namespace().equals(namespace) && LabelSelector.includes(t.selector(), labels) && workload == null) {
        workload = t;
      }
    }
    Direction client = new Direction(mesh);
    Direction server = new Direction(mesh);
    for (Policy.Telemetry t : new Policy.Telemetry[] {root, ns, workload}) {
      if (t == null) {
        continue;
      }
      for (Policy.AccessLogging e : t.accessLogging()) {
        if (e.mode().client()) {
          client.log(e);
        }
        if (e.mode().server()) {
          server.log(e);
        }
      }
      for (Policy.MetricOverride e : t.metrics()) {
        if (e.mode().client()) {
          client.metric(e);
        }
        if (e.mode().server()) {
          server.metric(e);
        }
      }
      for (Policy.Tracing e : t.tracing()) {
        if (e.mode().client()) {
          client.trace(e, mesh);
        }
        if (e.mode().server()) {
          server.trace(e, mesh);
        }
      }
    }
    return new ProxyTelemetry(client.side(), server.side());
  }

  /**
   * The most distinct tag expressions one side of a proxy evaluates per request when {@code levels} apply to it in
   * this order (root, namespace, workload; merged as {@link #resolve} merges them): the data plane's istio.stats takes
   * at most {@value io.keelson.dataplane.stats.IstioMetricsConfig#MAX_EVALUATED}.
   */
  public static int evaluatedTags(List<Policy.Telemetry> levels) {
    Direction client = new Direction(MeshTelemetry.OFF);
    Direction server = new Direction(MeshTelemetry.OFF);
    for (Policy.Telemetry t : levels) {
      for (Policy.MetricOverride e : t.metrics()) {
        if (e.mode().client()) {
          client.metric(e);
        }
        if (e.mode().server()) {
          server.metric(e);
        }
      }
    }
    return Math.max(evaluated(client.metrics), evaluated(server.metrics));
  }

  private static int evaluated(Map<String, MetricSettings> metrics) {
    java.util.Set<String> out = new java.util.HashSet<>();
    for (MetricSettings m : metrics.values()) {
      for (String value : m.tags().values()) {
        var e = value == null ? null : io.keelson.dataplane.stats.IstioTagExpression.parse(value);
        if (e != null && !e.constant()) {
          out.add(e.toString());
        }
      }
    }
    return out.size();
  }

  /** True when a proxy with {@code labels} serves a Gateway {@code t} targets (a Gateway API Gateway of {@code t}'s
   * namespace; an Istio {@code networking.istio.io} Gateway of the same name is not one). */
  private static boolean servesTarget(Policy.Telemetry t, Collection<Policy.Gateway> gateways,
      Map<String, String> labels) {
    for (Policy.Gateway g : gateways) {
      if (g.meta().apiVersion().startsWith("gateway.networking.k8s.io/") && g.namespace().equals(t.namespace())
          && t.targetGateways().contains(g.name()) && !g.selector().isEmpty()
          && LabelSelector.includes(g.selector(), labels)) {
        return true;
      }
    }
    return false;
  }

  /** One direction's settings while the levels are applied. Not thread-safe (local to one resolve). */
  private static final class Direction {
    boolean accessLog;
    String filter;
    boolean provider; // a known tracing provider is selected
    boolean reporting = true;
    double percent;
    final Map<String, MetricSettings> metrics = new java.util.LinkedHashMap<>();

    Direction(MeshTelemetry mesh) {
      accessLog = mesh.logsByDefault();
      provider = mesh.tracingByDefault();
      percent = mesh.samplingPercent();
    }

    /** An entry's filter replaces a less specific level's; an entry without one keeps it (istiod's mergeLogs). */
    void log(Policy.AccessLogging e) {
      if (e.filter() != null) {
        filter = e.filter();
      }
      if (Boolean.TRUE.equals(e.disabled())) {
        accessLog = false;
      } else {
        accessLog = e.providers().isEmpty() || e.providers().contains(MeshTelemetry.ENVOY);
      }
    }

    /** A metrics override: the metrics it names get its {@code disabled} (when set) and its tags, later ones winning. */
    void metric(Policy.MetricOverride e) {
      for (String name : Policy.MetricOverride.PLUGIN_NAMES.get(e.metric())) {
        MetricSettings was = metrics.getOrDefault(name, new MetricSettings(false, Map.of()));
        java.util.LinkedHashMap<String, String> tags = new java.util.LinkedHashMap<>(was.tags());
        e.tags().forEach((tag, value) -> {
          tags.remove(tag);
          tags.put(tag, value);
        });
        metrics.put(name, new MetricSettings(e.disabled() != null ? e.disabled() : was.disabled(), tags));
      }
    }

    void trace(Policy.Tracing e, MeshTelemetry mesh) {
      if (!e.providers().isEmpty()) {
        provider = mesh.tracingProvider() != null && e.providers().contains(mesh.tracingProvider().name());
      }
      if (e.samplingPercent() != null) {
        percent = e.samplingPercent();
      }
      if (e.disableSpanReporting() != null) {
        reporting = !e.disableSpanReporting();
      }
    }

    Side side() {
      boolean traced = provider && reporting;
      metrics.values().removeIf(m -> !m.disabled() && m.tags().isEmpty());
      return accessLog || traced || !metrics.isEmpty()
          ? new Side(accessLog, traced, traced ? percent : 0, metrics, accessLog ? filter : null) : Side.OFF;
    }
  }
}
