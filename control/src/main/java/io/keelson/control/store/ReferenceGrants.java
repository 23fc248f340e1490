package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import java.util.List;

/**
 * Gateway API references across namespaces, checked against the ReferenceGrants of the candidate state: a Gateway's
 * {@code certificateRefs} to a Secret of another namespace needs a ReferenceGrant in the Secret's namespace from the
 * Gateway's namespace to Secrets (and that name, where the grant names one); a route's {@code backendRefs} to a
 * registry Service of another namespace one from the route's kind and namespace to Services. Without one the document is refused, naming the field and the grant it
 * needs. The store checks every document on every change, so deleting (or narrowing) a grant that something still
 * uses is refused too ("would break"): a permitted reference never goes on working unseen. Stateless.
 */
final class ReferenceGrants {
  private ReferenceGrants() {}

  static void gateway(PolicySet state, Policy.Gateway g, List<PolicyError> errors) {
    if (g.meta().apiVersion().startsWith("networking.istio.io/")) {
      return;
    }
    for (Policy.Server s : g.servers()) {
      String credential = s.tls() == null ? null : s.tls().credentialName();
      int slash = credential == null ? -1 : credential.indexOf('/');
      if (slash > 0) {
        check(state, g, "Gateway", g.namespace(), new Policy.CrossReference("spec.listeners[" + s.index()
            + "].tls.certificateRefs[0].namespace", "", "Secret", credential.substring(0, slash),
            credential.substring(slash + 1)), errors);
      }
    }
  }

  /** Backend {@code b} of Gateway API route {@code r} (written at {@code at}): a Service of another namespace needs a grant. */
  static void backend(PolicySet state, Policy.Routes r, Policy.Backend b, String at, List<PolicyError> errors) {
    Policy.Service svc = state.service(b.service());
    String from = io.keelson.control.policy.ServiceNames.namespace(r.meta());
    if (svc != null && !svc.serviceNamespace().equals(from)) {
      check(state, r, r.kind(), from, new Policy.CrossReference(at + ".namespace", "", "Service",
          svc.serviceNamespace(), svc.meta().name()), errors);
    }
  }

  private static void check(PolicySet state, Policy p, String fromKind, String fromNamespace,
      Policy.CrossReference ref, List<PolicyError> errors) {
    for (Policy.ReferenceGrant grant : state.ofType(Policy.ReferenceGrant.class)) {
      if (grant.permits(fromKind, fromNamespace, ref)) {
        return;
      }
    }
    errors.add(new PolicyError(p.meta().file(), p.meta().key(), ref.field(), ref.kind() + " " + ref.namespace() + "/"
        + ref.name() + " is in another namespace than this " + fromKind + " (" + fromNamespace + ") and no"
        + " ReferenceGrant in namespace " + ref.namespace() + " permits it; expected a ReferenceGrant"
        + " (gateway.networking.k8s.io/v1beta1) in namespace " + ref.namespace() + " with from: [{group:"
        + " gateway.networking.k8s.io, kind: " + fromKind + ", namespace: " + fromNamespace + "}] and to: [{group: \"\","
        + " kind: " + ref.kind() + "}]"));
  }
}
