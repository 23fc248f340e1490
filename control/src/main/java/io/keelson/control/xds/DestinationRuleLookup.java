package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.ServiceEntries;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which DestinationRule a client proxy gets for a host, istiod's order ({@code PushContext.destinationRule}): the rule
 * of the client's own namespace for that host, else the rule of the host's namespace (a registry Service's, a
 * ServiceEntry's), else the root namespace's. A client of the root namespace itself takes the root's namespace-local
 * rules (exported to {@code .} or the root) first, then the host's namespace's, then the root's exported ones. A rule
 * of any other namespace applies to its own namespace's clients only. {@code exportTo} hides rules before they get
 * here ({@link ExportVisibility}). The translators read one rule per host from the state they are given,
 * so {@link #view} hands them the state with only the rules a client namespace gets; clients of namespaces with no
 * rule of their own that differs from the rest share {@link #view(String) view(null)}. Immutable, built per state.
 */
final class DestinationRuleLookup {
  private final PolicySet state;
  private final String root;
  private final Map<String, List<Policy.DestinationRule>> byHost = new HashMap<>();
  private final Set<String> ownRules = new HashSet<>(); // namespaces with a rule that beats the shared pick
  private final List<String> defaultExportTo;

  DestinationRuleLookup(PolicySet state, String rootNamespace) {
    this(state, rootNamespace, List.of(io.keelson.control.policy.ExportTo.PUBLIC));
  }

  /** {@code defaultExportTo}: meshConfig's {@code defaultDestinationRuleExportTo}, for rules that set none. */
  DestinationRuleLookup(PolicySet state, String rootNamespace, List<String> defaultExportTo) {
    this.state = state;
    this.root = rootNamespace;
    this.defaultExportTo = defaultExportTo;
    for (Policy.DestinationRule dr : state.ofType(Policy.DestinationRule.class)) {
      byHost.computeIfAbsent(dr.host(), h -> new ArrayList<>()).add(dr);
    }
    byHost.forEach((host, rules) -> {
      Policy.DestinationRule shared = forClient(host, null);
      for (Policy.DestinationRule dr : rules) {
        if (dr != shared) {
          ownRules.add(namespace(dr));
        }
      }
    });
  }

  /** The rule a client of {@code clientNamespace} (null: of no namespace with its own rule) gets for {@code host}. */
  Policy.DestinationRule forClient(String host, String clientNamespace) {
    List<Policy.DestinationRule> rules = byHost.get(host);
    if (rules == null) {
      return null;
    }
    if (clientNamespace != null && clientNamespace.equals(root)) {
      for (Policy.DestinationRule dr : rules) {
        if (namespace(dr).equals(root) && rootLocal(dr)) {
          return dr;
        }
      }
      clientNamespace = null; // then the host's namespace's, then the root's exported ones
    }
    Policy.Service owner = ServiceEntries.serviceOrHost(state, host);
    for (String ns : new String[] {clientNamespace, owner == null ? null : owner.serviceNamespace(), root}) {
      for (Policy.DestinationRule dr : rules) {
        if (ns != null && namespace(dr).equals(ns)) {
          return dr;
        }
      }
    }
    return null;
  }

  /** True when a client of {@code clientNamespace} gets another rule than {@code view(null)} has for some host. */
  boolean ownRulesFor(String clientNamespace) {
    return ownRules.contains(clientNamespace);
  }

  /** The state with only the rules a client of {@code clientNamespace} gets (null: the shared lookup), one per host. */
  PolicySet view(String clientNamespace) {
    Set<Policy.DestinationRule> kept = new HashSet<>();
    byHost.keySet().forEach(host -> {
      Policy.DestinationRule dr = forClient(host, clientNamespace);
      if (dr != null) {
        kept.add(dr);
      }
    });
    if (kept.size() == state.ofType(Policy.DestinationRule.class).size()) {
      return state;
    }
    return state.without(p -> p instanceof Policy.DestinationRule dr && !kept.contains(dr));
  }

  /** istiod's {@code rootNamespaceLocal}: a root rule exported to its own namespace ({@code .} or by name). */
  private boolean rootLocal(Policy.DestinationRule dr) {
    List<String> to = dr.meta().exportTo().isEmpty() ? defaultExportTo : dr.meta().exportTo();
    return to.contains(io.keelson.control.policy.ExportTo.PRIVATE) || to.contains(root);
  }

  private static String namespace(Policy.DestinationRule dr) {
    return io.keelson.control.policy.ServiceNames.namespace(dr.meta());
  }
}
