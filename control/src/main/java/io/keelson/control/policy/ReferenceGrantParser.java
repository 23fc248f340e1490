package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gateway API {@code ReferenceGrant} ({@code gateway.networking.k8s.io/v1beta1}, namespaced): {@code from} (group,
 * kind, namespace of the referring documents: HTTPRoute, GRPCRoute, TCPRoute, TLSRoute or Gateway) and {@code to}
 * (group and kind of the objects of this namespace they may name, Service or Secret, optionally one name).
 * Stateless.
 */
final class ReferenceGrantParser {
  private static final String GROUP = "gateway.networking.k8s.io";
  private static final Set<String> FROM_KINDS = Set.of("HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute", "Gateway");

  private ReferenceGrantParser() {}

  static Policy grant(Policy.Meta meta, Fields spec) {
    spec.allow("from", "to");
    List<Policy.GrantFrom> from = new ArrayList<>();
    for (Fields f : spec.objects("from", true)) {
      f.allow("group", "kind", "namespace");
      String group = f.string("group", true);
      String kind = f.string("kind", true);
      String ns = f.string("namespace", true);
      if (group != null && !group.equals(GROUP)) {
        f.error("group", "'" + group + "' is not a group Keelson reads references from; expected " + GROUP);
      }
      if (kind != null && !FROM_KINDS.contains(kind)) {
        f.error("kind", "'" + kind + "' does not refer across namespaces in Keelson; expected one of "
            + FROM_KINDS.stream().sorted().toList());
      }
      if (group != null && kind != null && ns != null) {
        from.add(new Policy.GrantFrom(group, kind, ns));
      }
    }
    List<Policy.GrantTo> to = new ArrayList<>();
    for (Fields t : spec.objects("to", true)) {
      t.allow(Set.of("group", "kind", "name"), Map.of());
      String group = t.string("group", false);
      if (group == null && !t.has("group")) {
        t.error("group", "is required; expected \"\" (the core group of Service and Secret)");
      }
      String kind = t.string("kind", true);
      String name = t.string("name", false);
      group = "core".equals(group) ? "" : group;
      if (group != null && !group.isEmpty()) {
        t.error("group", "'" + group + "': Keelson follows references to core objects only (Service, Secret);"
            + " expected \"\"");
      }
      if (kind != null && !kind.equals("Service") && !kind.equals("Secret")) {
        t.error("kind", "'" + kind + "' is not a kind a reference can name; expected Service or Secret");
      }
      if (group != null && kind != null) {
        to.add(new Policy.GrantTo(group, kind, name));
      }
    }
    return new Policy.ReferenceGrant(meta, from, to);
  }
}
