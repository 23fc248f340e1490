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
import io.keelson.control.security.ExtensionProviders;
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
 * terminating TLS) gets the network equivalents: CUSTOM's shadow network RBAC and {@code envoy.filters.network.ext_authz}
 * for an {@code envoyExtAuthzGrpc} provider ({@link ExtAuthzTranslator#tcp}; a DENY-all network RBAC for an undefined
 * or conflicting provider), then network RBAC from the same policies' TCP variant (ALLOW rules with HTTP-only fields
 * dropped, DENY rules' HTTP-only fields ignored, as istiod). An {@code envoyExtAuthzHttp} provider cannot check a
 * tcp_proxy chain (istiod skips it there): {@link #warnings} says so. Works on the translated listeners so every chain
 * shape is covered. Stateless.
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
        state.ofType(Policy.RequestAuthentication.class), ROOT, true); // istiod: routes by claims on gateways
    if (jwt != null) {
      http.add(jwt);
    }
    ExtAuthzTranslator.Custom custom = ExtAuthzTranslator.http(namespace, labels, authz, ROOT, extAuthz.providers());
    http.addAll(custom.filters()); // istiod: CUSTOM before DENY and ALLOW
    http.addAll(AuthorizationTranslator.http(namespace, labels, authz, ROOT).httpFilters());
    ExtAuthzTranslator.Custom networkCustom = ExtAuthzTranslator.tcp(namespace, labels, authz, ROOT,
        extAuthz.providers());
    var tcp = AuthorizationTranslator.tcp(namespace, labels, authz, ROOT);
    if (http.isEmpty() && tcp.isEmpty() && networkCustom.networkFilters().isEmpty()) {
      return translated;
    }
    List<Listener> listeners = new ArrayList<>(translated.listeners().size());
    boolean httpUsed = false;
    boolean tcpUsed = false;
    for (Listener l : translated.listeners()) {
      Listener.Builder b = l.toBuilder();
      for (FilterChain.Builder chain : b.getFilterChainsBuilderList()) {
        List<Filter> filters = new ArrayList<>(chain.getFiltersList());
        for (int i = 0; i < filters.size(); i++) {
          Filter f = filters.get(i);
          if (f.getName().equals(HCM) && !http.isEmpty()) {
            filters.set(i, withHttpFilters(f, http));
            httpUsed = true;
          } else if (f.getName().equals(TCP_PROXY) && !(tcp.isEmpty() && networkCustom.networkFilters().isEmpty())) {
            List<Filter> security = new ArrayList<>(networkCustom.networkFilters()); // istiod: CUSTOM first
            if (!tcp.isEmpty()) {
              security.addAll(tcp.networkFilters(l.getName() + "."));
            }
            filters.addAll(i, security);
            i += security.size();
            tcpUsed = true;
          }
        }
        chain.clearFilters().addAllFilters(filters);
      }
      listeners.add(b.build());
    }
    java.util.Set<String> providers = new java.util.TreeSet<>(); // the authorizers' clusters, once each
    if (httpUsed && custom.provider() != null) {
      providers.add(custom.provider().name());
    }
    if (tcpUsed && networkCustom.provider() != null) {
      providers.add(networkCustom.provider().name());
    }
    if (providers.isEmpty()) {
      return translated.withListeners(listeners);
    }
    List<Cluster> clusters = new ArrayList<>(translated.clusters());
    for (String provider : providers) {
      clusters.add(extAuthz.clusters().get(provider));
    }
    return translated.withListenersAndClusters(listeners, clusters);
  }

  /**
   * What the gateway's status says about its policies: routes matching JWT claims where no RequestAuthentication
   * verifies tokens ({@link #claimRouteWarnings}); a CUSTOM provider that is {@code envoyExtAuthzHttp} while it
   * has tcp_proxy chains, which it cannot check (istiod skips it there; only its HTTP servers ask the authorizer).
   */
  static List<String> warnings(MeshResources translated, PolicySet state, Map<String, String> labels,
      String namespace, ExtensionProviders providers) {
    List<String> out = new ArrayList<>(claimRouteWarnings(translated, state, labels, namespace));
    out.addAll(customWarnings(translated, state, labels, namespace, providers));
    return List.copyOf(out);
  }

  /**
   * VirtualService routes that match JWT claims ({@code @request.auth.claims.*}) on a gateway no RequestAuthentication
   * selects: no token is verified there, so they never match (as with istiod; a withoutHeaders claim always matches).
   */
  static List<String> claimRouteWarnings(MeshResources translated, PolicySet state, Map<String, String> labels,
      String namespace) {
    if (RequestAuthenticationTranslator.config(namespace, labels, state.ofType(Policy.RequestAuthentication.class), ROOT)
        != null) {
      return List.of();
    }
    java.util.Set<String> routes = new java.util.TreeSet<>();
    List<io.envoyproxy.envoy.config.route.v3.RouteConfiguration> configs = new ArrayList<>(translated.routes());
    for (Listener l : translated.listeners()) {
      for (FilterChain c : l.getFilterChainsList()) {
        for (Filter f : c.getFiltersList()) {
          if (f.getName().equals(HCM)) {
            try {
              HttpConnectionManager hcm = f.getTypedConfig().unpack(HttpConnectionManager.class);
              if (hcm.hasRouteConfig()) {
                configs.add(hcm.getRouteConfig());
              }
            } catch (InvalidProtocolBufferException e) {
              throw new IllegalStateException("GatewayTranslator built an unreadable HttpConnectionManager", e);
            }
          }
        }
      }
    }
    for (var rc : configs) {
      for (var vh : rc.getVirtualHostsList()) {
        for (var r : vh.getRoutesList()) {
          if (r.getMatch().getDynamicMetadataList().stream()
              .anyMatch(m -> m.getFilter().equals(RouteBuilder.ISTIO_AUTHN))) {
            routes.add(r.getName().isEmpty() ? vh.getName() : r.getName());
          }
        }
      }
    }
    if (routes.isEmpty()) {
      return List.of();
    }
    return List.of("routes " + String.join(", ", routes) + " match JWT claims (@request.auth.claims) but no"
        + " RequestAuthentication selects this gateway: no token is verified here, so they never match (as with"
        + " istiod). Add a RequestAuthentication whose selector matches the gateway's labels");
  }

  private static List<String> customWarnings(MeshResources translated, PolicySet state, Map<String, String> labels,
      String namespace, ExtensionProviders providers) {
    boolean streams = translated.listeners().stream().flatMap(l -> l.getFilterChainsList().stream())
        .flatMap(c -> c.getFiltersList().stream()).anyMatch(f -> f.getName().equals(TCP_PROXY));
    if (!streams) {
      return List.of();
    }
    String ignored = ExtAuthzTranslator.tcp(namespace, labels, state.ofType(Policy.AuthorizationPolicy.class), ROOT,
        providers).ignoredProvider();
    if (ignored == null) {
      return List.of();
    }
    List<String> custom = state.ofType(Policy.AuthorizationPolicy.class).stream()
        .filter(p -> p.action() == Authz.Action.CUSTOM && AuthorizationTranslator.selects(p, namespace, labels, ROOT))
        .map(p -> p.namespace() + "/" + p.name()).sorted().toList();
    return List.of("CUSTOM AuthorizationPolicy " + String.join(", ", custom) + " is not enforced on this gateway's"
        + " TLS/TCP servers: its provider '" + ignored + "' is envoyExtAuthzHttp, which cannot check a connection (as"
        + " with istiod); its HTTP servers ask the authorizer. Use an envoyExtAuthzGrpc provider to check TLS/TCP"
        + " connections too");
  }

  private static Filter withHttpFilters(Filter hcmFilter, List<HttpFilter> security) {
    try {
      HttpConnectionManager hcm = hcmFilter.getTypedConfig().unpack(HttpConnectionManager.class);
      // A stateful session goes ahead of them (istiod puts it before the router): Keelson's data plane picks the
      // endpoint before an ext_authz check answers, so it refuses the filter after one.
      List<HttpFilter> filters = new ArrayList<>(hcm.getHttpFiltersList().stream()
          .filter(f -> f.getName().equals(PersistentSessions.FILTER)).toList());
      filters.addAll(security);
      for (HttpFilter f : hcm.getHttpFiltersList()) { // ahead of grpc_web, CORS, fault and the router
        if (!f.getName().equals(PersistentSessions.FILTER)) {
          filters.add(f);
        }
      }
      return hcmFilter.toBuilder().setTypedConfig(Any.pack(hcm.toBuilder().clearHttpFilters()
          .addAllHttpFilters(filters).build())).build();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("GatewayTranslator built an unreadable HttpConnectionManager", e);
    }
  }
}
