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

  /** Routes the sidecars apply: a VirtualService without gateways or with {@code mesh}, a route with Service parents. */
  private static boolean mesh(Policy.Routes r) {
    return r.kind().equals("VirtualService") ? r.gateways().isEmpty() || r.gateways().contains(Policy.Routes.MESH)
        : !r.services().isEmpty();
  }
}
