package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Istio's {@code Telemetry} ({@code telemetry.istio.io/v1}, {@code v1alpha1}): {@code selector}, {@code accessLogging[]}
 * and {@code tracing[]}. What the data plane cannot do is rejected by name, never dropped: {@code metrics} (Istio's
 * standard metrics are always on), access-log {@code filter} expressions, tracing {@code customTags} and
 * {@code useRequestIdForTraceSampling}, {@code targetRef(s)} (Keelson programs no gateways from Telemetry), and a
 * selector in the root namespace (Istio ignores it). Provider names are checked against the control plane's providers
 * when applied ({@code MeshTelemetry#check}). Stateless.
 */
final class TelemetryParser {
  /** Istio's root configuration namespace: a Telemetry here without a selector is the mesh-wide one. */
  static final String ROOT_NAMESPACE = io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE;

  private TelemetryParser() {}

  static Policy telemetry(Policy.Meta meta, String namespace, Fields spec) {
    spec.allow(Set.of("selector", "accessLogging", "tracing"), Map.of(
        "metrics", "metrics overrides are not supported; Istio's standard metrics are always reported on /stats/prometheus",
        "targetRef", "targetRef (gateway attachment) is not supported; use selector",
        "targetRefs", "targetRefs (gateway attachment) is not supported; use selector"));
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
      e.allow(Set.of("providers", "disabled", "match"), Map.of(
          "filter", "access log filter expressions (CEL) are not supported; every request is logged"));
      logs.add(new Policy.AccessLogging(providers(e), optionalBool(e, "disabled"), mode(e)));
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
    return new Policy.Telemetry(meta, namespace, selector, logs, tracing);
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
    String m = match.string("mode", false);
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
