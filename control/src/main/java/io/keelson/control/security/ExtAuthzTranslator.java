package io.keelson.control.security;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.keelson.control.policy.Policy.AuthorizationPolicy;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Istio's CUSTOM AuthorizationPolicies of one HTTP workload → the filters istiod puts before its DENY and ALLOW RBAC:
 * a shadow RBAC filter whose rules are the CUSTOM policies' ({@code shadow_rules_stat_prefix: istio_ext_authz_}), then
 * the provider's {@code envoy.filters.http.ext_authz}, enabled only when the shadow result names one of those rules, so
 * the authorizer is asked about the matching requests only. As istiod, a workload's CUSTOM policies must name one
 * provider: an undefined provider or two different ones give a DENY-all RBAC instead (fail closed). A TCP workload
 * gets the network equivalents ({@link #tcp}). Stateless.
 */
public final class ExtAuthzTranslator {
  /** Shadow rule names, and the prefix the ext_authz filter is enabled by (istiod's). */
  public static final String POLICY_PREFIX = "istio-ext-authz";
  public static final String SHADOW_FILTER = "envoy.filters.http.rbac.ext_authz";
  public static final String EXT_AUTHZ_FILTER = "envoy.filters.http.ext_authz";

  private ExtAuthzTranslator() {}

  /**
   * The CUSTOM policies ({@code namespace/name}, sorted) whose selector matches {@code labels}, in any namespace: for
   * a sidecar without an identity, whose namespace is not known, the ones that may be meant for it. None of them is
   * enforced there (its inbound listener is not the control plane's), which its status says.
   */
  public static List<String> customPoliciesMatching(Map<String, String> labels, Collection<AuthorizationPolicy> all) {
    return all.stream().filter(p -> p.action() == io.keelson.control.policy.Authz.Action.CUSTOM
            && WorkloadSelector.labelsMatch(p.selector(), labels))
        .map(p -> p.namespace() + "/" + p.name()).sorted().toList();
  }

  /**
   * The filters for the workload, and the provider whose cluster it needs.
   *
   * @param filters         the HTTP filters (an HTTP workload); empty when no CUSTOM policy selects the workload
   * @param networkFilters  the network filters before tcp_proxy (a TCP workload); empty likewise
   * @param provider        the provider the ext_authz filter calls, or null
   * @param ignoredProvider a TCP workload's envoyExtAuthzHttp provider, which istiod skips there (no check at all), or
   *                        null
   */
  public record Custom(List<HttpFilter> filters, List<Filter> networkFilters, ExtAuthzProvider provider,
      String ignoredProvider) {
    public static final Custom NONE = new Custom(List.of(), List.of(), null, null);

    /** HTTP filters only (an HTTP workload or listener). */
    public Custom(List<HttpFilter> filters, ExtAuthzProvider provider) {
      this(filters, List.of(), provider, null);
    }
  }

  /** Network RBAC's stat_prefix and the network ext_authz's, as istiod writes them for CUSTOM. */
  public static final String TCP_STAT_PREFIX = "tcp.";

  /**
   * The network filters istiod puts before a TCP workload's DENY and ALLOW network RBAC: a shadow
   * {@code envoy.filters.network.rbac} with the CUSTOM policies' rules as TCP rules, then the provider's
   * {@code envoy.filters.network.ext_authz} enabled by its result. Only an {@code envoyExtAuthzGrpc} provider has a
   * network check: as istiod, an {@code envoyExtAuthzHttp} provider is skipped on a TCP workload (its connections are
   * not checked; {@link Custom#ignoredProvider} says which, for the proxy's status). An undefined provider or two
   * different ones give a DENY-all network RBAC (fail closed).
   */
  public static Custom tcp(String namespace, Map<String, String> labels, Collection<AuthorizationPolicy> all,
      String rootNamespace, ExtensionProviders providers) {
    TreeSet<String> names = new TreeSet<>();
    RBAC shadow = AuthorizationTranslator.customRules(namespace, labels, all, rootNamespace, names, true);
    if (shadow == null) {
      return Custom.NONE;
    }
    ExtAuthzProvider provider = names.size() == 1 ? providers.get(names.first()) : null;
    if (provider == null) {
      return new Custom(List.of(), List.of(networkRbac(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC
          .newBuilder().setStatPrefix(TCP_STAT_PREFIX).setRules(denyAll()).build())), null, null);
    }
    if (!provider.grpc()) {
      return new Custom(List.of(), List.of(), null, provider.name());
    }
    return new Custom(List.of(), List.of(
        networkRbac(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder().setStatPrefix(TCP_STAT_PREFIX)
            .setShadowRules(shadow).setShadowRulesStatPrefix(ExtAuthzProvider.SHADOW_PREFIX).build()),
        Filter.newBuilder().setName(NETWORK_EXT_AUTHZ_FILTER).setTypedConfig(Any.pack(provider.networkFilter())).build()),
        provider, null);
  }

  public static final String NETWORK_EXT_AUTHZ_FILTER = "envoy.filters.network.ext_authz";

  private static Filter networkRbac(io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC rbac) {
    return Filter.newBuilder().setName(WorkloadAuthorization.NETWORK_FILTER).setTypedConfig(Any.pack(rbac)).build();
  }

  /** istiod's answer to a CUSTOM policy it cannot build: deny everything rather than skip the check. */
  private static RBAC denyAll() {
    return RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies(
        "default-deny-all-due-to-bad-CUSTOM-action", Policy.newBuilder()
            .addPermissions(Permission.newBuilder().setAny(true)).addPrincipals(Principal.newBuilder().setAny(true))
            .build()).build();
  }

  public static Custom http(String namespace, Map<String, String> labels, Collection<AuthorizationPolicy> all,
      String rootNamespace, ExtensionProviders providers) {
    TreeSet<String> names = new TreeSet<>();
    RBAC shadow = AuthorizationTranslator.customRules(namespace, labels, all, rootNamespace, names, false);
    if (shadow == null) {
      return Custom.NONE;
    }
    ExtAuthzProvider provider = names.size() == 1 ? providers.get(names.first()) : null;
    if (provider == null) {
      return new Custom(List.of(rbac(SHADOW_FILTER, io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder()
          .setRules(denyAll()).build())), null);
    }
    return new Custom(List.of(
        rbac(SHADOW_FILTER, io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder().setShadowRules(shadow)
            .setShadowRulesStatPrefix(ExtAuthzProvider.SHADOW_PREFIX).build()),
        HttpFilter.newBuilder().setName(EXT_AUTHZ_FILTER).setTypedConfig(Any.pack(provider.filter())).build()), provider);
  }

  private static HttpFilter rbac(String name, io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC rbac) {
    return HttpFilter.newBuilder().setName(name).setTypedConfig(Any.pack(rbac)).build();
  }
}
