package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.control.policy.Authz;
import io.keelson.control.policy.Policy;
import io.keelson.control.security.AuthorizationTranslator;
import io.keelson.control.security.ExtAuthzTranslator;
import io.keelson.control.security.RequestAuthenticationTranslator;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * An ingress gateway's security policies on the listeners {@link GatewayTranslator} built, as istiod programs a
 * gateway workload: the AuthorizationPolicies and RequestAuthentications selecting it (the root namespace's without a
 * selector, its own namespace's without a selector, and those whose {@code selector} its labels include: Istio's
 * rules, {@link AuthorizationTranslator#selects}) go on every connection manager it has (plain HTTP, each SNI-selected
 * HTTPS chain): {@code jwt_authn}, then the CUSTOM shadow RBAC and {@code ext_authz}, then DENY and ALLOW RBAC, ahead of
 * its other filters and the router, the sidecar inbound's order. Every tcp_proxy chain (TLS passthrough, TCP,
 * terminating TLS) gets network RBAC from the same policies' TCP variant (ALLOW rules with HTTP-only fields dropped,
 * DENY rules' HTTP-only fields ignored, as istiod). CUSTOM on a tcp_proxy chain is not enforced (istiod ignores an HTTP
 * provider there): {@link #warnings} says so. Works on the translated listeners so every chain shape is covered.
 * Stateless.
 */
final class GatewayPolicies {
  private static final String HCM = "envoy.filters.network.http_connection_manager";
  private static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";
  private static final String ROOT = AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE;

  private GatewayPolicies() {}

  /**
   * {@code translated} (a gateway's, from {@link GatewayTranslator#translate}) with the policies selecting a gateway of
   * {@code namespace} with {@code labels}, and the CUSTOM provider's cluster; {@code translated} itself when none does.
   */
  static MeshResources apply(MeshResources translated, PolicySet state, Map<String, String> labels, String namespace,
      ExtAuthzClusters extAuthz) {
    var authz = state.ofType(Policy.AuthorizationPolicy.class);
    List<HttpFilter> http = new ArrayList<>();
    HttpFilter jwt = RequestAuthenticationTranslator.httpFilter(namespace, labels,
        state.ofType(Policy.RequestAuthentication.class), ROOT);
    if (jwt != null) {
      http.add(jwt);
    }
    ExtAuthzTranslator.Custom custom = ExtAuthzTranslator.http(namespace, labels, authz, ROOT, extAuthz.providers());
    http.addAll(custom.filters()); // istiod: CUSTOM before DENY and ALLOW
    http.addAll(AuthorizationTranslator.http(namespace, labels, authz, ROOT).httpFilters());
    var tcp = AuthorizationTranslator.tcp(namespace, labels, authz, ROOT);
    if (http.isEmpty() && tcp.isEmpty()) {
      return translated;
    }
    List<Listener> listeners = new ArrayList<>(translated.listeners().size());
    boolean httpUsed = false;
    for (Listener l : translated.listeners()) {
      Listener.Builder b = l.toBuilder();
      for (FilterChain.Builder chain : b.getFilterChainsBuilderList()) {
        List<Filter> filters = new ArrayList<>(chain.getFiltersList());
        for (int i = 0; i < filters.size(); i++) {
          Filter f = filters.get(i);
          if (f.getName().equals(HCM) && !http.isEmpty()) {
            filters.set(i, withHttpFilters(f, http));
            httpUsed = true;
          } else if (f.getName().equals(TCP_PROXY) && !tcp.isEmpty()) {
            List<Filter> rbac = tcp.networkFilters(l.getName() + ".");
            filters.addAll(i, rbac);
            i += rbac.size();
          }
        }
        chain.clearFilters().addAllFilters(filters);
      }
      listeners.add(b.build());
    }
    if (!httpUsed || custom.provider() == null) {
      return translated.withListeners(listeners);
    }
    List<Cluster> clusters = new ArrayList<>(translated.clusters());
    clusters.add(extAuthz.clusters().get(custom.provider().name()));
    return translated.withListenersAndClusters(listeners, clusters);
  }

  /**
   * What the gateway's status says about its policies: CUSTOM AuthorizationPolicies selecting it while it has tcp_proxy
   * chains, where they are not enforced (only its HTTP servers ask the authorizer).
   */
  static List<String> warnings(MeshResources translated, PolicySet state, Map<String, String> labels,
      String namespace) {
    boolean streams = translated.listeners().stream().flatMap(l -> l.getFilterChainsList().stream())
        .flatMap(c -> c.getFiltersList().stream()).anyMatch(f -> f.getName().equals(TCP_PROXY));
    if (!streams) {
      return List.of();
    }
    List<String> custom = state.ofType(Policy.AuthorizationPolicy.class).stream()
        .filter(p -> p.action() == Authz.Action.CUSTOM && AuthorizationTranslator.selects(p, namespace, labels, ROOT))
        .map(p -> p.namespace() + "/" + p.name()).sorted().toList();
    return custom.isEmpty() ? List.of() : List.of("CUSTOM AuthorizationPolicy " + String.join(", ", custom)
        + " is not enforced on this gateway's TLS/TCP servers (tcp_proxy chains: no network ext_authz); its HTTP "
        + "servers ask the authorizer");
  }

  private static Filter withHttpFilters(Filter hcmFilter, List<HttpFilter> security) {
    try {
      HttpConnectionManager hcm = hcmFilter.getTypedConfig().unpack(HttpConnectionManager.class);
      List<HttpFilter> filters = new ArrayList<>(security);
      filters.addAll(hcm.getHttpFiltersList()); // ahead of grpc_web, CORS, fault and the router
      return hcmFilter.toBuilder().setTypedConfig(Any.pack(hcm.toBuilder().clearHttpFilters()
          .addAllHttpFilters(filters).build())).build();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("GatewayTranslator built an unreadable HttpConnectionManager", e);
    }
  }
}
