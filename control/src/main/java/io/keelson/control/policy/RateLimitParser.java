package io.keelson.control.policy;

import java.util.Map;
import java.util.Set;

/**
 * Linkerd's {@code HTTPLocalRateLimitPolicy} ({@code policy.linkerd.io/v1alpha1}), read for Keelson: its
 * {@code targetRef} names a Keelson Service (Linkerd names a Server, a resource Keelson does not have) and only the
 * {@code total} limit is taken; {@code identity} and {@code overrides} (buckets per client identity) are refused,
 * since the data plane's local rate limit has one bucket per filter. Stateless.
 */
final class RateLimitParser {
  static final String LINKERD_POLICY = "policy.linkerd.io/v1alpha1";
  /** Envoy's token bucket holds 32-bit counts; far above what one sidecar can serve. */
  static final int MAX_REQUESTS_PER_SECOND = 1_000_000_000;

  private RateLimitParser() {}

  static Policy.HttpLocalRateLimitPolicy httpLocalRateLimitPolicy(Policy.Meta meta, Fields spec) {
    String perClient = "not supported: Keelson's sidecars keep one bucket for all clients (no bucket per client "
        + "identity yet); use total";
    spec.allow(Set.of("targetRef", "total"), Map.of("identity", perClient, "overrides", perClient));
    String service = null;
    Fields ref = spec.object("targetRef", true);
    if (ref != null) {
      ref.allow("group", "kind", "name", "namespace");
      String group = ref.string("group", false);
      String kind = ref.string("kind", true);
      service = ref.serviceName("name", true);
      if ("Server".equals(kind)) {
        ref.error("kind", "Keelson has no Server resource; target the Service whose sidecars should limit "
            + "(kind: Service, its name)");
        service = null;
      } else if (kind != null && !kind.equals("Service")) {
        ref.error("kind", "'" + kind + "' is not supported; expected Service");
        service = null;
      }
      if (group != null && !group.isEmpty() && !group.equals("core") && !group.equals("keelson.io")) {
        ref.error("group", "'" + group + "' is not supported; expected an empty group, core or keelson.io (a Service)");
      }
    }
    Integer total = null;
    Fields t = spec.object("total", true);
    if (t != null) {
      t.allow("requestsPerSecond");
      total = t.integer("requestsPerSecond", 1, MAX_REQUESTS_PER_SECOND, null);
      if (total == null && !t.has("requestsPerSecond")) {
        t.error("requestsPerSecond", "required: the requests per second each of the service's sidecars admits");
      }
    }
    if (service == null || total == null) {
      return null;
    }
    return new Policy.HttpLocalRateLimitPolicy(meta, service, total);
  }
}
