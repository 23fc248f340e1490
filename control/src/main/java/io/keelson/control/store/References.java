package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import java.util.ArrayList;
import java.util.List;

/**
 * Cross-document checks of a candidate state: what the documents being applied name must exist in
 * it (services, ports, subsets). Stateless.
 */
public final class References {
  private References() {}

  /** Problems of {@code changed} against {@code state} (which already contains them). */
  public static List<PolicyError> check(PolicySet state, List<Policy> changed) {
    List<PolicyError> errors = new ArrayList<>();
    for (Policy p : changed) {
      String doc = p.meta().key();
      String file = p.meta().file();
      switch (p) {
        case Policy.Workload w -> {
          if (service(state, w.service()) == null) {
            errors.add(new PolicyError(file, doc, "spec.service", noService(w.service())));
          }
        }
        case Policy.DestinationRule dr -> {
          if (service(state, dr.host()) == null) {
            errors.add(new PolicyError(file, doc, "spec.host", noService(dr.host())));
          }
          for (Policy.DestinationRule other : state.ofType(Policy.DestinationRule.class)) {
            if (other != dr && other.host().equals(dr.host())) {
              errors.add(new PolicyError(file, doc, "spec.host", "service '" + dr.host()
                  + "' already has DestinationRule/" + other.name() + "; expected one DestinationRule per host"));
            }
          }
        }
        case Policy.Routes r -> routes(state, r, errors);
        case Policy.Service s -> { }
        case Policy.AuthorizationPolicy a -> { }
        case Policy.PeerAuthentication pa -> { }
        case Policy.RequestAuthentication ra -> { }
      }
    }
    return errors;
  }

  private static void routes(PolicySet state, Policy.Routes r, List<PolicyError> errors) {
    boolean istio = r.kind().equals("VirtualService");
    String file = r.meta().file();
    String doc = r.meta().key();
    for (int i = 0; i < r.services().size(); i++) {
      String s = r.services().get(i);
      if (service(state, s) == null) {
        errors.add(new PolicyError(file, doc, (istio ? "spec.hosts[" : "spec.parentRefs[") + i + "]" + (istio ? "" : ".name"),
            noService(s)));
      }
    }
    for (int i = 0; i < r.rules().size(); i++) {
      List<Policy.Backend> backends = new java.util.ArrayList<>(r.rules().get(i).backends());
      int routed = backends.size();
      List<Policy.Mirror> mirrors = r.rules().get(i).mirrors();
      mirrors.forEach(m -> backends.add(m.backend()));
      for (int j = 0; j < backends.size(); j++) {
        Policy.Backend b = backends.get(j);
        String mirrorField = j >= routed ? mirrors.get(j - routed).field() : null;
        String at = j >= routed
            ? (istio ? "spec.http[" + i + "]." + (mirrorField == null ? "mirror" : mirrorField)
                : "spec.rules[" + i + "].filters[RequestMirror].backendRef")
            : istio ? "spec.http[" + i + "].route[" + j + "].destination" : "spec.rules[" + i + "].backendRefs[" + j + "]";
        Policy.Service svc = service(state, b.service());
        if (svc == null) {
          errors.add(new PolicyError(file, doc, at + (istio ? ".host" : ".name"), noService(b.service())));
          continue;
        }
        if (b.port() != 0 && !svc.ports().contains(b.port())) {
          errors.add(new PolicyError(file, doc, at + (istio ? ".port.number" : ".port"), "service '" + b.service()
              + "' has no port " + b.port() + "; expected one of " + svc.ports()));
        }
        if (b.subset() != null && subset(state, b.service(), b.subset()) == null) {
          errors.add(new PolicyError(file, doc, at + ".subset", "no DestinationRule defines subset '" + b.subset()
              + "' of service '" + b.service() + "'; apply the DestinationRule with the subsets first, or in the same set"));
        }
      }
    }
  }

  static Policy.Service service(PolicySet state, String name) {
    return state.get("Service", name) instanceof Policy.Service s ? s : null;
  }

  static Policy.Subset subset(PolicySet state, String service, String subset) {
    for (Policy.DestinationRule dr : state.ofType(Policy.DestinationRule.class)) {
      if (dr.host().equals(service)) {
        for (Policy.Subset s : dr.subsets()) {
          if (s.name().equals(subset)) {
            return s;
          }
        }
      }
    }
    return null;
  }

  private static String noService(String name) {
    return "no Service '" + name + "' is registered; apply a keelson.io/v1alpha1 Service of that name first, or in the same set";
  }
}
