package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.keelson.dataplane.config.DnsResolution;
import io.keelson.dataplane.config.DnsResolverConfig;
import java.time.Duration;

/**
 * Translates a STRICT_DNS or LOGICAL_DNS cluster's dns fields (its resolver config by {@link DnsResolverTranslator}),
 * reporting what Keelson cannot run. Stateless.
 */
final class DnsResolutionTranslator {
  private static final Duration MIN = Duration.ofMillis(1);

  private DnsResolutionTranslator() {}

  /**
   * The cluster's DNS resolution, its resolver config {@code defaultResolver} (the bootstrap's) when it sets none, or
   * null when a field is out of range (reported).
   */
  static DnsResolution translate(Cluster c, String path, Problems problems, DnsResolverConfig defaultResolver) {
    boolean ok = true;
    Duration refresh = DnsResolution.DEFAULT_REFRESH_RATE;
    if (c.hasDnsRefreshRate()) {
      refresh = RouteTranslator.duration(c.getDnsRefreshRate());
      ok &= atLeastOneMilli(refresh, path + ".dns_refresh_rate", problems);
    }
    Duration base = refresh;
    Duration max = null;
    if (c.hasDnsFailureRefreshRate()) {
      var rate = c.getDnsFailureRefreshRate();
      String at = path + ".dns_failure_refresh_rate";
      if (!rate.hasBaseInterval()) {
        problems.error(at + ".base_interval", "is required (Envoy's proto); expected a duration of at least 1ms");
        return null;
      }
      base = RouteTranslator.duration(rate.getBaseInterval());
      ok &= atLeastOneMilli(base, at + ".base_interval", problems);
      if (rate.hasMaxInterval()) {
        max = RouteTranslator.duration(rate.getMaxInterval());
        if (max.compareTo(base) <= 0) {
          problems.error(at + ".max_interval", max + " is out of range; expected above base_interval " + base);
          ok = false;
        }
      }
    }
    Duration jitter = Duration.ZERO;
    if (c.hasDnsJitter()) {
      jitter = RouteTranslator.duration(c.getDnsJitter());
      if (jitter.isNegative()) {
        problems.error(path + ".dns_jitter", jitter + " is out of range; expected a duration of at least 0s");
        ok = false;
      }
    }
    var resolverFields = new DnsResolverTranslator.Fields(c.hasTypedDnsResolverConfig() ? c.getTypedDnsResolverConfig()
        : null, c.hasDnsResolutionConfig() ? c.getDnsResolutionConfig() : null, c.getDnsResolversList(),
        c.getUseTcpForDnsLookups());
    DnsResolverConfig resolver = DnsResolverTranslator.translate(resolverFields, path, problems, defaultResolver);
    ok &= resolver != null || !resolverFields.any();
    DnsResolution.LookupFamily family = switch (c.getDnsLookupFamily()) {
      case AUTO -> DnsResolution.LookupFamily.AUTO;
      case V4_ONLY -> DnsResolution.LookupFamily.V4_ONLY;
      case V6_ONLY -> DnsResolution.LookupFamily.V6_ONLY;
      case V4_PREFERRED -> DnsResolution.LookupFamily.V4_PREFERRED;
      case ALL -> DnsResolution.LookupFamily.ALL;
      default -> {
        problems.error(path + ".dns_lookup_family", c.getDnsLookupFamilyValue()
            + " is not a lookup family; expected one of AUTO, V4_ONLY, V6_ONLY, V4_PREFERRED, ALL");
        yield null;
      }
    };
    if (!ok || family == null) {
      return null;
    }
    return new DnsResolution(c.getType() == Cluster.DiscoveryType.LOGICAL_DNS, refresh, base,
        max == null ? base.multipliedBy(10) : max, family, c.getRespectDnsTtl(), resolver, jitter);
  }

  private static boolean atLeastOneMilli(Duration d, String path, Problems problems) {
    if (d.compareTo(MIN) < 0) {
      problems.error(path, d + " is out of range; expected at least 1ms");
      return false;
    }
    return true;
  }
}
