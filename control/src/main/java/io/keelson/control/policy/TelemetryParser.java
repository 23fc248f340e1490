package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Istio's {@code Telemetry} ({@code telemetry.istio.io/v1}, {@code v1alpha1}): {@code selector}, {@code accessLogging[]}
 * {@code tracing[]} and {@code metrics[]} ({@link #metrics}). What the data plane cannot do is rejected by name, never
 * dropped: tracing {@code customTags} and
 * {@code useRequestIdForTraceSampling}, a selector in the root namespace (Istio ignores it), and {@code targetRef(s)}
 * other than Gateway API {@code Gateway}s of the Telemetry's namespace (Istio's gateway attachment; a Gateway's proxies
 * are those its selector, {@value GatewayApiParser#GATEWAY_NAME_LABEL}: NAME, matches, in any namespace). Provider
 * names are checked against the control plane's providers
 * when applied ({@code MeshTelemetry#check}). Stateless.
 */
final class TelemetryParser {
  /** Istio's root configuration namespace: a Telemetry here without a selector is the mesh-wide one. */
  static final String ROOT_NAMESPACE = io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE;

  private TelemetryParser() {}

  static Policy telemetry(Policy.Meta meta, String namespace, Fields spec) {
    spec.allow("selector", "accessLogging", "tracing", "targetRef", "targetRefs", "metrics");
    List<String> gateways = targetGateways(spec, namespace);
    Map<String, String> selector = null;
    Fields sel = spec.object("selector", false);
    if (sel != null) {
      sel.allow("matchLabels");
      selector = Map.copyOf(sel.stringMap("matchLabels"));
      if (namespace.equals(ROOT_NAMESPACE)) {
        spec.error("selector", "a selector in the root namespace " + ROOT_NAMESPACE + " is ignored by Istio; put this "
            + "Telemetry in the workload's namespace, or remove the selector to configure the whole mesh");
      }
    }
    List<Policy.AccessLogging> logs = new ArrayList<>();
    for (Fields e : spec.objects("accessLogging", false)) {
      e.allow("providers", "disabled", "match", "filter");
      logs.add(new Policy.AccessLogging(providers(e), optionalBool(e, "disabled"), mode(e), filter(e)));
    }
    List<Policy.Tracing> tracing = new ArrayList<>();
    for (Fields e : spec.objects("tracing", false)) {
      e.allow(Set.of("providers", "randomSamplingPercentage", "disableSpanReporting", "match"), Map.of(
          "customTags", "customTags are not supported: the data plane's spans carry OpenTelemetry's HTTP attributes only",
          "useRequestIdForTraceSampling", "useRequestIdForTraceSampling is not supported; sampling is random",
          "enableIstioTags", "enableIstioTags is not supported: the data plane's spans carry OpenTelemetry's HTTP attributes only"));
      Double percent = e.number("randomSamplingPercentage", 0, 100, null);
      tracing.add(new Policy.Tracing(providers(e), percent, optionalBool(e, "disableSpanReporting"), mode(e)));
    }
    return new Policy.Telemetry(meta, namespace, selector, logs, tracing, gateways, metrics(spec));
  }

  /**
   * {@code accessLogging[].filter.expression}: a CEL expression the data plane's access-log filter evaluates (the one
   * istiod sends as {@code envoy.access_loggers.extension_filters.cel}); checked here with the data plane's compiler, so
   * an expression it cannot run is refused at apply with its column. Null without a filter.
   */
  private static String filter(Fields e) {
    Fields f = e.object("filter", false);
    if (f == null) {
      return null;
    }
    f.allow("expression");
    String expression = f.string("expression", true);
    if (expression == null) {
      return null;
    }
    try {
      io.keelson.dataplane.accesslog.AccessLogFilters.check(
          new io.keelson.dataplane.config.AccessLogFilterConfig.Cel(expression));
    } catch (IllegalArgumentException bad) {
      f.error("expression", bad.getMessage());
      return null;
    }
    return expression;
  }

  private static final java.util.regex.Pattern LABEL = java.util.regex.Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

  /**
   * {@code metrics[]}: {@code providers} (prometheus only: Keelson's metrics are its /stats/prometheus),
   * {@code overrides[]} ({@code match.metric}, {@code match.mode}, {@code disabled}, {@code tagOverrides} with
   * {@code operation} UPSERT and a supported {@code value} ({@link io.keelson.dataplane.stats.IstioTagExpression}) or
   * REMOVE). Refused by field: {@code reportingInterval}, {@code match.customMetric}, other providers, and more than
   * {@value io.keelson.dataplane.stats.IstioMetricsConfig#MAX_EVALUATED} distinct values evaluated per request.
   */
  private static List<Policy.MetricOverride> metrics(Fields spec) {
    List<Policy.MetricOverride> out = new ArrayList<>();
    Set<String> evaluated = new java.util.HashSet<>();
    for (Fields m : spec.objects("metrics", false)) {
      m.allow(Set.of("providers", "overrides"), Map.of("reportingInterval",
          "reportingInterval is not supported: Keelson's metrics are scraped from /stats/prometheus, never pushed"));
      List<Fields> providers = m.objects("providers", false);
      for (int i = 0; i < providers.size(); i++) {
        Fields p = providers.get(i);
        p.allow("name");
        String name = p.string("name", true);
        if (name != null && !name.equals("prometheus")) {
          p.error("name", "'" + name + "' is not supported; expected prometheus (Istio's metrics are on /stats/prometheus)");
        }
      }
      for (Fields o : m.objects("overrides", false)) {
        o.allow("match", "disabled", "tagOverrides");
        String metric = "ALL_METRICS";
        Policy.TelemetryMode mode = Policy.TelemetryMode.CLIENT_AND_SERVER;
        Fields match = o.object("match", false);
        if (match != null) {
          match.allow(Set.of("metric", "mode"), Map.of("customMetric",
              "custom metrics are not supported; expected match.metric, one of Istio's standard metrics"));
          String named = match.string("metric", false);
          if (named != null && !Policy.MetricOverride.PLUGIN_NAMES.containsKey(named)) {
            match.error("metric", "'" + named + "' is not a metric; expected one of " + Policy.MetricOverride.PLUGIN_NAMES.keySet());
          } else if (named != null) {
            metric = named;
          }
          mode = mode(match.string("mode", false), match);
        }
        boolean tcpOnly = metric.startsWith("TCP_");
        Map<String, String> tags = new java.util.LinkedHashMap<>();
        o.objectMap("tagOverrides").forEach((tag, t) -> {
          if (!LABEL.matcher(tag).matches()) {
            o.error("tagOverrides." + tag, "is not a Prometheus label name; expected [a-zA-Z_][a-zA-Z0-9_]*");
          }
          t.allow("operation", "value");
          String op = t.string("operation", false);
          if (op == null || op.equals("UPSERT")) {
            String value = t.string("value", true);
            var e = value == null ? null : io.keelson.dataplane.stats.IstioTagExpression.parse(value);
            if (value != null && e == null) {
              t.error("value", "'" + value + "' is not supported; expected "
                  + io.keelson.dataplane.stats.IstioTagExpression.SUPPORTED);
            } else if (e != null && !e.constant() && tcpOnly) {
              t.error("value", "'" + value + "' is evaluated per request, and a TCP connection has none; expected a "
                  + "string literal for a TCP metric");
            } else if (e != null) {
              tags.put(tag, value);
              if (!e.constant()) {
                evaluated.add(e.toString());
              }
            }
          } else if (op.equals("REMOVE")) {
            if (t.has("value")) {
              t.error("value", "a REMOVE has no value; expected operation UPSERT to set one");
            }
            tags.put(tag, null);
          } else {
            t.error("operation", "'" + op + "' is not an operation; expected UPSERT or REMOVE");
          }
        });
        out.add(new Policy.MetricOverride(metric, mode, optionalBool(o, "disabled"), tags));
      }
    }
    if (evaluated.size() > io.keelson.dataplane.stats.IstioMetricsConfig.MAX_EVALUATED) {
      spec.error("metrics", evaluated.size() + " distinct tag values are evaluated per request; at most "
          + io.keelson.dataplane.stats.IstioMetricsConfig.MAX_EVALUATED + " are supported");
    }
    return out;
  }

  /**
   * The Gateway names of {@code targetRef} or {@code targetRefs} (one of them, not with {@code selector}, as Istio
   * validates): each of kind {@code Gateway}, group {@code gateway.networking.k8s.io}, in the Telemetry's namespace.
   */
  private static List<String> targetGateways(Fields spec, String namespace) {
    List<Fields> refs = new ArrayList<>();
    if (spec.has("targetRef")) {
      refs.add(spec.object("targetRef", true));
      if (spec.has("targetRefs")) {
        spec.error("targetRefs", "only one of targetRef and targetRefs may be set");
      }
    }
    refs.addAll(spec.objects("targetRefs", false));
    if (!refs.isEmpty() && spec.has("selector")) {
      spec.error("selector", "only one of selector and targetRef(s) may be set; expected targetRefs alone for a Gateway");
    }
    List<String> names = new ArrayList<>();
    for (Fields r : refs) {
      if (r == null) {
        continue;
      }
      r.allow("group", "kind", "name", "namespace");
      String group = r.string("group", false);
      String kind = r.string("kind", true);
      String name = r.string("name", true);
      String ns = r.string("namespace", false);
      if (kind != null && !kind.equals("Gateway")) {
        r.error("kind", "'" + kind + "' is not supported; expected Gateway (group gateway.networking.k8s.io): Telemetry"
            + " reaches sidecars by selector");
      }
      if (!"gateway.networking.k8s.io".equals(group)) {
        r.error("group", (group == null ? "is required" : "'" + group + "' is not the Gateway API's group")
            + "; expected gateway.networking.k8s.io");
      }
      if (ns != null && !ns.equals(namespace)) {
        r.error("namespace", "'" + ns + "' is not this Telemetry's namespace " + namespace + "; expected the Gateway's"
            + " namespace (put the Telemetry there)");
      }
      if (name != null) {
        names.add(name);
      }
    }
    return names;
  }

  private static List<String> providers(Fields e) {
    List<String> names = new ArrayList<>();
    for (Fields p : e.objects("providers", false)) {
      p.allow("name");
      String name = p.string("name", true);
      if (name != null) {
        names.add(name);
      }
    }
    return names;
  }

  private static Boolean optionalBool(Fields e, String field) {
    return e.has(field) ? e.bool(field) : null;
  }

  private static Policy.TelemetryMode mode(Fields e) {
    Fields match = e.object("match", false);
    if (match == null) {
      return Policy.TelemetryMode.CLIENT_AND_SERVER;
    }
    match.allow("mode");
    return mode(match.string("mode", false), match);
  }

  private static Policy.TelemetryMode mode(String m, Fields match) {
    if (m == null) {
      return Policy.TelemetryMode.CLIENT_AND_SERVER;
    }
    try {
      return Policy.TelemetryMode.valueOf(m);
    } catch (IllegalArgumentException bad) {
      match.error("mode", "'" + m + "' is not a mode; expected CLIENT_AND_SERVER, CLIENT (outbound) or SERVER (inbound)");
      return Policy.TelemetryMode.CLIENT_AND_SERVER;
    }
  }
}
