package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * An immutable, versioned set of applied policy documents keyed by "Kind/name" (mesh-wide kinds) or "Kind/namespace/name" (namespaced kinds). Thread-safe.
 *
 * @param generation bumped by every change that is applied
 */
public record PolicySet(long generation, Map<String, Policy> byKey) {
  public static final PolicySet EMPTY = new PolicySet(0, Map.of());

  public PolicySet {
    byKey = java.util.Collections.unmodifiableMap(new TreeMap<>(byKey));
  }

  public Collection<Policy> all() {
    return byKey.values();
  }

  public <T extends Policy> List<T> ofType(Class<T> type) {
    List<T> out = new ArrayList<>();
    for (Policy p : byKey.values()) {
      if (type.isInstance(p)) {
        out.add(type.cast(p));
      }
    }
    return out;
  }

  /**
   * The Secret {@code namespace}/{@code name} (a gateway server's {@code credentialName}), or null; a {@code name}
   * of the form {@code OTHER/NAME} (a Gateway API certificateRef to another namespace, which a ReferenceGrant
   * permits) is looked up in namespace OTHER.
   */
  public Policy.Secret secret(String namespace, String name) {
    int slash = name == null ? -1 : name.indexOf('/');
    if (slash > 0) {
      namespace = name.substring(0, slash);
      name = name.substring(slash + 1);
    }
    for (Policy.Secret s : ofType(Policy.Secret.class)) {
      if (s.name().equals(name) && s.namespace().equals(namespace)) {
        return s;
      }
    }
    return null;
  }

  /** The label Kubernetes puts on every namespace: its name ({@code NamespaceDefaultLabelName}). */
  public static final String NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

  /**
   * The labels of namespace {@code namespace} (a Gateway API listener's {@code from: Selector} matches them): its
   * Namespace document's, if any, with {@value #NAMESPACE_NAME_LABEL}: {@code namespace}, which Kubernetes sets on
   * every namespace (and overwrites), so a selector on it works without a Namespace document.
   */
  public java.util.Map<String, String> namespaceLabels(String namespace) {
    java.util.Map<String, String> labels = new java.util.TreeMap<>();
    for (Policy.Namespace n : ofType(Policy.Namespace.class)) {
      if (n.name().equals(namespace)) {
        labels.putAll(n.labels());
      }
    }
    labels.put(NAMESPACE_NAME_LABEL, namespace);
    return java.util.Collections.unmodifiableMap(labels);
  }

  /** The mesh-wide (not namespaced) document Kind/name, or null. */
  public Policy get(String kind, String name) {
    return byKey.get(kind + "/" + name);
  }

  /**
   * The registry Service of key {@code key} ({@link io.keelson.control.policy.ServiceNames}: {@code NAME} in namespace
   * default, {@code NAME.NS} in NS), or null.
   */
  public Policy.Service service(String key) {
    if (key == null) {
      return null;
    }
    if (byKey.get("Service/" + key) instanceof Policy.Service s) {
      return s;
    }
    int dot = key.lastIndexOf('.');
    return dot > 0 && byKey.get(Policy.Meta.key("Service", key.substring(dot + 1), key.substring(0, dot)))
        instanceof Policy.Service s ? s : null;
  }

  /**
   * The documents of {@code kind} named {@code name} (as written), in {@code namespace} (null = in any namespace;
   * {@code default} also finds the documents kept without one).
   */
  public List<Policy> find(String kind, String namespace, String name) {
    List<Policy> out = new ArrayList<>();
    for (Policy p : byKey.values()) {
      if (p.kind().equals(kind) && p.meta().name().equals(name) && (namespace == null
          || p.namespace().equals(namespace) || (p.namespace().isEmpty() && namespace.equals("default")))) {
        out.add(p);
      }
    }
    return out;
  }

  /**
   * This set with {@code policies} added or replaced (and nothing removed). A document applied again
   * unchanged keeps its instance, so what was translated from it is reused (the control plane finds
   * unchanged workloads by identity).
   */
  public PolicySet with(Collection<Policy> policies) {
    Map<String, Policy> m = new TreeMap<>(byKey);
    for (Policy p : policies) {
      Policy old = m.get(p.meta().key());
      if (old == null || !old.equals(p)) {
        m.put(p.meta().key(), p);
      }
    }
    return new PolicySet(generation + 1, m);
  }

  /** This set without the documents {@code drop} selects. */
  public PolicySet without(Predicate<Policy> drop) {
    Map<String, Policy> m = new TreeMap<>(byKey);
    m.values().removeIf(drop);
    return new PolicySet(generation + 1, m);
  }
}
