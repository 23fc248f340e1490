package io.keelson.control.security;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import java.util.ArrayList;
import java.util.List;

/**
 * The RBAC a workload's inbound listener needs: a DENY engine and an ALLOW engine, each null when no
 * policy of that action selects the workload. As in Istio, the DENY filter runs first; an ALLOW
 * engine with no policy (an ALLOW AuthorizationPolicy with no rules) denies everything. Immutable.
 */
public record WorkloadAuthorization(RBAC deny, RBAC allow) {
  public static final String HTTP_FILTER = "envoy.filters.http.rbac";
  public static final String NETWORK_FILTER = "envoy.filters.network.rbac";

  public boolean isEmpty() {
    return deny == null && allow == null;
  }

  /** {@code envoy.filters.http.rbac} filters for the HTTP connection manager, DENY before ALLOW. */
  public List<HttpFilter> httpFilters() {
    List<HttpFilter> out = new ArrayList<>();
    for (RBAC r : new RBAC[] {deny, allow}) {
      if (r != null) {
        out.add(HttpFilter.newBuilder().setName(HTTP_FILTER).setTypedConfig(Any.pack(
            io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setRules(r).build())).build());
      }
    }
    return out;
  }

  /** {@code envoy.filters.network.rbac} filters for a TCP filter chain, DENY before ALLOW. */
  public List<Filter> networkFilters(String statPrefix) {
    List<Filter> out = new ArrayList<>();
    for (RBAC r : new RBAC[] {deny, allow}) {
      if (r != null) {
        out.add(Filter.newBuilder().setName(NETWORK_FILTER).setTypedConfig(Any.pack(
            io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder().setStatPrefix(statPrefix)
                .setRules(r).build())).build());
      }
    }
    return out;
  }
}
