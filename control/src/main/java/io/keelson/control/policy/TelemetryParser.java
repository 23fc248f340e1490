package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Istio's {@code Telemetry} ({@code telemetry.istio.io/v1}, {@code v1alpha1}): {@code selector}, {@code accessLogging[]}
 * and {@code tracing[]}. What the data plane cannot do is rejected by name, never dropped: {@code metrics} (Istio's
 * standard metrics are always on), access-log {@code filter} expressions, tracing {@code customTags} and
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
    spec.allow(Set.of("selector", "accessLogging", "tracing", "targetRef", "targetRefs"), Map.of(
        "metrics", "metrics overrides are not supported; Istio's standard metrics are always reported on /stats/prometheus"));
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
    return new Policy.Telemetry(meta, namespace, selector, logs, tracing, gateways);
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
