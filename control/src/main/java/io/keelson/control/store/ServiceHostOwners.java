package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.ServiceNames;
import java.util.List;

/**
 * Which namespaces' documents may route or configure a registry Service for every client, so that one namespace
 * cannot take over another's service. Istio does not merge the mesh VirtualServices of one host (istioctl's IST0109
 * conflict), so two mesh route documents of different namespaces for one Service are refused, naming both. (A
 * DestinationRule of any namespace is accepted: each client looks one up in its own namespace first, then the
 * service's, then the root namespace's: {@code xds/DestinationRuleLookup}.) Stateless.
 */
final class ServiceHostOwners {
  private ServiceHostOwners() {}

  /** Mesh route document {@code r}'s Services are routed by no mesh route document of another namespace. */
  static void routes(PolicySet state, Policy.Routes r, List<PolicyError> errors) {
    if (!mesh(r)) {
      return;
    }
    boolean istio = r.kind().equals("VirtualService");
    for (int i = 0; i < r.services().size(); i++) {
      String key = r.services().get(i);
      if (References.service(state, key) == null) {
        continue; // a ServiceEntry host, or missing (reported by References)
      }
      for (Policy.Routes other : state.ofType(Policy.Routes.class)) {
        if (other != r && mesh(other) && other.services().contains(key)
            && !ServiceNames.namespace(other.meta()).equals(ServiceNames.namespace(r.meta()))) {
          errors.add(new PolicyError(r.meta().file(), r.meta().key(),
              (istio ? "spec.hosts[" + i + "]" : "spec.parentRefs[" + i + "].name"), "service '" + key
                  + "' is already routed for the mesh by " + other.meta().key() + " (namespace "
                  + ServiceNames.namespace(other.meta()) + "); mesh routes of one host from two namespaces are not"
                  + " merged (Istio's IST0109 conflict): keep the service's routes in one document of its namespace"));
        }
      }
    }
  }

  /**
   * Mesh route {@code r}'s hostnames (added to its parent Service's virtual host of the shared outbound route config)
   * are no other Service's name ({@code NAME.NS}, {@code .svc}, {@code .svc.cluster.local}, and {@code NAME} of
   * namespace default's, the shared route config's), no ServiceEntry host and no hostname of a mesh route of other
   * parents: one domain in two virtual hosts makes every sidecar refuse (NACK) the route config. A route with
   * hostnames has one Service parent, for the same reason. The short name of a Service of another namespace than
   * default, the route's own included, is accepted as istiod accepts it (Gateway API hostnames have no short names):
   * that namespace's clients have the name as their own Service's, not the route's ({@code xds/ClientNamespaceNames}).
   */
  static void hostnames(PolicySet state, Policy.Routes r, List<PolicyError> errors) {
    if (!mesh(r) || r.kind().equals("VirtualService") || r.hostnames().isEmpty()) {
      return;
    }
    List<String> parents = r.services().stream().filter(k -> References.service(state, k) != null).toList();
    if (parents.size() > 1) {
      errors.add(new PolicyError(r.meta().file(), r.meta().key(), "spec.hostnames", "hostnames " + r.hostnames()
          + " would be on the virtual hosts of each of " + parents + " (one domain twice in the outbound route"
          + " config); expected hostnames with one Service parent, or a route per Service"));
      return;
    }
    java.util.Map<String, Policy.ServiceEntry> entries = ServiceEntries.byHost(state);
    for (int i = 0; i < r.hostnames().size(); i++) {
      String h = r.hostnames().get(i);
      String owner = null;
      for (Policy.Service svc : state.ofType(Policy.Service.class)) {
        if (!parents.contains(svc.name()) && io.keelson.control.xds.MeshNames.names(svc).contains(h)) {
          owner = "service '" + svc.name() + "'";
        }
      }
      if (owner == null && entries.containsKey(h)) {
        owner = "ServiceEntry " + entries.get(h).meta().key();
      }
      for (Policy.Routes other : state.ofType(Policy.Routes.class)) {
        if (owner == null && other != r && mesh(other) && !other.kind().equals("VirtualService")
            && other.hostnames().contains(h) && !other.services().equals(r.services())) {
          owner = "route " + other.meta().key() + " (parents " + other.services() + ")";
        }
      }
      if (owner != null) {
        errors.add(new PolicyError(r.meta().file(), r.meta().key(), "spec.hostnames[" + i + "]", "'" + h
            + "' is already a name of " + owner + "; a mesh route's hostname must be no other Service's or route's"
            + " (one domain in two virtual hosts is refused by every sidecar): route that host through its own"
            + " Service, or pick another hostname"));
      }
    }
  }

  /** Routes the sidecars apply: a VirtualService without gateways or with {@code mesh}, a route with Service parents. */
  private static boolean mesh(Policy.Routes r) {
    return r.kind().equals("VirtualService") ? r.gateways().isEmpty() || r.gateways().contains(Policy.Routes.MESH)
        : !r.services().isEmpty();
  }
}
