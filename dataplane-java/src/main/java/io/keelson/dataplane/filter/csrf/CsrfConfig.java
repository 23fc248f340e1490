package io.keelson.dataplane.filter.csrf;

import io.keelson.dataplane.filter.Percent;
import io.keelson.dataplane.route.ValueMatch;
import java.util.List;

/**
 * Envoy's CsrfPolicy (the filter's typed_config, or a route's or virtual host's typed_per_filter_config, which
 * replaces it whole), as Keelson runs it. Immutable.
 *
 * @param filterEnabled     filter_enabled's default_value: the share of requests the policy is enforced on
 * @param shadowEnabled     shadow_enabled's default_value, or null when unset: the share evaluated and counted only
 * @param additionalOrigins additional_origins, matched against the source's host-and-port
 */
record CsrfConfig(Percent filterEnabled, Percent shadowEnabled, List<ValueMatch> additionalOrigins) {
  CsrfConfig {
    additionalOrigins = List.copyOf(additionalOrigins);
  }
}
