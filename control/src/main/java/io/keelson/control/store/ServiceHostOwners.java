package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import io.keelson.control.policy.ServiceNames;
import java.util.List;

/**
 * Which namespaces' documents may route or configure a registry Service for every client, so that one namespace
 * cannot take over another's service. Istio does not merge the mesh VirtualServices of one host (istioctl's IST0109
 * conflict), so two mesh route documents of different namespaces for one Service are refused, naming both. Istio looks
 * a DestinationRule up in the client's namespace, then the service's, then the root namespace; Keelson applies one
 * DestinationRule per host to every client, so it takes that of the service's namespace or of the root namespace only.
 * Stateless.
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

  /** {@code dr} is of its Service's namespace or of the root namespace when its host is a registry Service. */
  static void destinationRule(PolicySet state, Policy.DestinationRule dr, List<PolicyError> errors) {
    Policy.Service service = References.service(state, dr.host());
    String own = ServiceNames.namespace(dr.meta());
    if (service == null) {
      return;
    }
    String serviceNamespace = ServiceNames.namespace(service.meta());
    if (!own.equals(serviceNamespace)
        && !own.equals(io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE)) {
      errors.add(new PolicyError(dr.meta().file(), dr.meta().key(), "spec.host", "service '" + dr.host()
          + "' is of namespace " + serviceNamespace + ": a DestinationRule of namespace " + own + " would apply to"
          + " every client (Keelson has no per-client-namespace DestinationRule lookup yet); expected it in namespace "
          + serviceNamespace + " or the root namespace "
          + io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE));
    }
  }

  /** Routes the sidecars apply: a VirtualService without gateways or with {@code mesh}, a route with Service parents. */
  private static boolean mesh(Policy.Routes r) {
    return r.kind().equals("VirtualService") ? r.gateways().isEmpty() || r.gateways().contains(Policy.Routes.MESH)
        : !r.services().isEmpty();
  }
}
