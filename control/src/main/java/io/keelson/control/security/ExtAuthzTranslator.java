package io.keelson.control.security;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.rbac.v3.Permission;
import io.envoyproxy.envoy.config.rbac.v3.Policy;
import io.envoyproxy.envoy.config.rbac.v3.Principal;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
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
 * provider: an undefined provider or two different ones give a DENY-all RBAC instead (fail closed). Stateless.
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
   * @param filters  empty when no CUSTOM policy selects the workload
   * @param provider the provider the ext_authz filter calls, or null
   */
  public record Custom(List<HttpFilter> filters, ExtAuthzProvider provider) {
    public static final Custom NONE = new Custom(List.of(), null);
  }

  public static Custom http(String namespace, Map<String, String> labels, Collection<AuthorizationPolicy> all,
      String rootNamespace, ExtensionProviders providers) {
    TreeSet<String> names = new TreeSet<>();
    RBAC shadow = AuthorizationTranslator.customRules(namespace, labels, all, rootNamespace, names);
    if (shadow == null) {
      return Custom.NONE;
    }
    ExtAuthzProvider provider = names.size() == 1 ? providers.get(names.first()) : null;
    if (provider == null) {
      // istiod's answer to a CUSTOM policy it cannot build: deny every request rather than skip the check
      RBAC denyAll = RBAC.newBuilder().setAction(RBAC.Action.DENY).putPolicies(
          "default-deny-all-due-to-bad-CUSTOM-action", Policy.newBuilder()
              .addPermissions(Permission.newBuilder().setAny(true)).addPrincipals(Principal.newBuilder().setAny(true))
              .build()).build();
      return new Custom(List.of(rbac(SHADOW_FILTER, io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.newBuilder()
          .setRules(denyAll).build())), null);
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
