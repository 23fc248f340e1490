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
    // Each port number's services, once (not every service against every other one).
    java.util.Map<Integer, List<Policy.Service>> byPort = new java.util.HashMap<>();
    for (Policy.Service s : state.ofType(Policy.Service.class)) {
      s.ports().forEach(port -> byPort.computeIfAbsent(port, k -> new ArrayList<>()).add(s));
    }
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
          if (ServiceEntries.serviceOrHost(state, dr.host()) == null) {
            errors.add(new PolicyError(file, doc, "spec.host", noService(dr.host())));
          }
          DestinationRuleChecks.check(state, dr, errors);
          DnsEntryLocalities.check(state, dr, errors);
          // Clients look one up per namespace (theirs, the host's, the root's): one per host in each namespace.
          String ns = io.keelson.control.policy.ServiceNames.namespace(dr.meta());
          for (Policy.DestinationRule other : state.ofType(Policy.DestinationRule.class)) {
            if (other != dr && other.host().equals(dr.host())
                && io.keelson.control.policy.ServiceNames.namespace(other.meta()).equals(ns)) {
              errors.add(new PolicyError(file, doc, "spec.host", "service '" + dr.host()
                  + "' already has " + other.meta().key() + " in namespace " + ns
                  + "; expected one DestinationRule per host in a namespace"));
            }
          }
        }
        case Policy.Routes r -> routes(state, r, errors);
        case Policy.Service s -> {
          sameKey(state, s, errors);
          sharedPorts(byPort, s, errors);
          sharedAddress(state, s, errors);
        }
        case Policy.ServiceEntry se -> ServiceEntries.check(state, se, errors);
        case Policy.WorkloadEntry we -> WorkloadEntries.check(state, we, errors);
        case Policy.AuthorizationPolicy a -> { }
        case Policy.PeerAuthentication pa -> { }
        case Policy.RequestAuthentication ra -> { }
        case Policy.HttpLocalRateLimitPolicy rl -> rateLimit(state, rl, errors);
        // provider names are the control plane's: TelemetryProviders checks them
        case Policy.Telemetry t -> TelemetryTagLimit.check(state, t,
            io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, errors);
        case Policy.Gateway g -> {
          GatewayReferences.gateway(state, g, errors);
          ReferenceGrants.gateway(state, g, errors);
        }
        case Policy.Secret s -> { }
        case Policy.Namespace n -> { } // its labels are matched where a listener's allowedRoutes select namespaces
        case Policy.ReferenceGrant grant -> { } // what it permits is checked at the documents that use it
        case Policy.Sidecar sc -> oneNamespaceDefault(state, sc, errors);
        case Policy.EnvoyFilter ef -> { } // its values were checked against the data plane when parsed
      }
    }
    return errors;
  }

  /** Istio's rule: at most one Sidecar without a workloadSelector per namespace (which would apply is undefined). */
  private static void oneNamespaceDefault(PolicySet state, Policy.Sidecar sc, List<PolicyError> errors) {
    if (sc.selector() != null) {
      return;
    }
    for (Policy.Sidecar other : state.ofType(Policy.Sidecar.class)) {
      if (other != sc && other.selector() == null && other.namespace().equals(sc.namespace())) {
        errors.add(new PolicyError(sc.meta().file(), sc.meta().key(), "spec.workloadSelector", "namespace '"
            + sc.namespace() + "' already has " + other.meta().key() + " without a workloadSelector; expected at most "
            + "one per namespace (add a workloadSelector, or change that one)"));
      }
    }
  }

  /** Its Service exists and serves HTTP, and no other HTTPLocalRateLimitPolicy targets it (Linkerd: one per Server). */
  private static void rateLimit(PolicySet state, Policy.HttpLocalRateLimitPolicy rl, List<PolicyError> errors) {
    String file = rl.meta().file();
    String doc = rl.meta().key();
    Policy.Service svc = service(state, rl.service());
    if (svc == null) {
      errors.add(new PolicyError(file, doc, "spec.targetRef.name", noService(rl.service())));
    } else if (svc.ports().stream().noneMatch(port -> svc.protocol(port).http())) {
      errors.add(new PolicyError(file, doc, "spec.targetRef.name", "service '" + rl.service()
          + "' has no HTTP port; an HTTPLocalRateLimitPolicy limits HTTP requests"));
    }
    for (Policy.HttpLocalRateLimitPolicy other : state.ofType(Policy.HttpLocalRateLimitPolicy.class)) {
      if (other != rl && other.service().equals(rl.service())) {
        errors.add(new PolicyError(file, doc, "spec.targetRef.name", "service '" + rl.service()
            + "' already has " + other.meta().key() + "; expected one HTTPLocalRateLimitPolicy per service"));
      }
    }
  }

  private static void routes(PolicySet state, Policy.Routes r, List<PolicyError> errors) {
    streamRules(state, r, errors);
    ServiceHostOwners.routes(state, r, errors);
    ServiceHostOwners.hostnames(state, r, errors);
    GatewayReferences.boundGateways(state, r, errors);
    Delegation.check(state, r, errors);
    boolean istio = r.kind().equals("VirtualService");
    String file = r.meta().file();
    String doc = r.meta().key();
    // Bound to gateways (also with mesh), a host may be an external name, which only the gateways serve.
    boolean sidecarsOnly = !istio || r.gateways().isEmpty() || r.gateways().equals(List.of(Policy.Routes.MESH));
    for (int i = 0; i < (sidecarsOnly ? r.services().size() : 0); i++) {
      String s = r.services().get(i);
      if (ServiceEntries.serviceOrHost(state, s) == null) {
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
        checkBackend(state, errors, r.meta(), at, istio, b);
        if (!istio) {
          ReferenceGrants.backend(state, r, b, at, errors);
        }
      }
    }
  }

  /**
   * A TCP port may share its number with TCP and HTTP ports, a TLS port only with TLS ports: a captured sidecar's {@code 0.0.0.0_<port>} listener tells services
   * apart by Host (HTTP), SNI (TLS) or VIP (TCP: a chain per service matching its VIP, {@code xds/ServiceAddresses}).
   */
  private static void sharedPorts(java.util.Map<Integer, List<Policy.Service>> byPort, Policy.Service s,
      List<PolicyError> errors) {
    for (int i = 0; i < s.ports().size(); i++) {
      int port = s.ports().get(i);
      Policy.Protocol mine = s.protocol(port);
      for (Policy.Service other : byPort.getOrDefault(port, List.of())) {
        if (other == s) {
          continue;
        }
        Policy.Protocol theirs = other.protocol(port);
        // A TCP port may be shared with TCP and HTTP ports: captured sidecars tell TCP services apart by VIP
        // (xds/ServiceAddresses), before the HTTP chain. Not with TLS: its chains need the TLS inspector, which
        // would wait for a ClientHello on every connection (a server-first TCP protocol would hang).
        boolean tlsWithOther = (mine == Policy.Protocol.TLS) != (theirs == Policy.Protocol.TLS);
        if (tlsWithOther) {
          errors.add(new PolicyError(s.meta().file(), s.meta().key(), "spec.ports[" + i + "].port",
              "port " + port + " (" + mine + ") is also port " + port + " (" + theirs + ") of Service/" + other.name()
                  + "; a TCP port shares its number only with TCP and HTTP ports (told apart by VIP) and a TLS port only"
                  + " with TLS ports (told apart by SNI); expected another port number"));
        }
      }
    }
  }

  /**
   * Host {@code a.b} names Service {@code a} of namespace {@code b}; a Service of namespace default named {@code a.b}
   * would be the same host (one key, {@link io.keelson.control.policy.ServiceNames}): refused.
   */
  private static void sameKey(PolicySet state, Policy.Service s, List<PolicyError> errors) {
    for (Policy.Service other : state.ofType(Policy.Service.class)) {
      if (other != s && other.name().equals(s.name())) {
        errors.add(new PolicyError(s.meta().file(), s.meta().key(), "metadata.name", "host '" + s.name()
            + "' would name both " + s.meta().key() + " and " + other.meta().key() + "; expected a Service name"
            + " without '.' (a dotted name in namespace default reads as NAME.NAMESPACE)"));
      }
    }
  }

  /** A VIP set in {@code spec.addresses} must be no other service's. */
  private static void sharedAddress(PolicySet state, Policy.Service s, List<PolicyError> errors) {
    if (s.address() == null) {
      return;
    }
    for (Policy.Service other : state.ofType(Policy.Service.class)) {
      if (other != s && s.address().equals(other.address())) {
        errors.add(new PolicyError(s.meta().file(), s.meta().key(), "spec.addresses[0]", "address " + s.address()
            + " is already Service/" + other.name() + "'s; expected an address of its own"));
      }
    }
  }

  private static void streamRules(PolicySet state, Policy.Routes r, List<PolicyError> errors) {
    String file = r.meta().file();
    String doc = r.meta().key();
    boolean istio = r.kind().equals("VirtualService");
    for (Policy.StreamRule rule : r.streams()) {
      for (int j = 0; j < rule.backends().size(); j++) {
        Policy.Backend b = rule.backends().get(j);
        String at = rule.field() + (istio ? ".route[" + j + "].destination" : ".backendRefs[" + j + "]");
        checkBackend(state, errors, r.meta(), at, istio, b);
        if (!istio) {
          ReferenceGrants.backend(state, r, b, at, errors);
        }
        ServiceEntries.checkStreamBackend(state, r, b, errors, file, doc, at + (istio ? ".host" : ".name"));
      }
      for (String s : r.services()) {
        Policy.Service svc = ServiceEntries.serviceOrHost(state, s, r.meta().effectiveNamespace());
        if (svc == null) {
          continue;
        }
        if (rule.protocol() == Policy.Protocol.TCP && !rule.destinationSubnets().isEmpty()
            && ServiceEntries.find(state, s, r.meta().effectiveNamespace()) instanceof Policy.ServiceEntry se) {
          ServiceEntries.checkSharedPrefixes(state, se, errors, r.meta(), rule.field() + ".match");
        }
        boolean any = svc.ports().stream().anyMatch(p -> svc.protocol(p) == rule.protocol()
            && (rule.port() == null || rule.port().intValue() == p.intValue()));
        if (!any) {
          errors.add(new PolicyError(file, doc, rule.field(), "service '" + s + "' has no " + rule.protocol() + " port"
              + (rule.port() == null ? "" : " " + rule.port()) + " for this " + rule.protocol()
              + " rule; expected a port with protocol " + rule.protocol() + " in its Service"));
        }
      }
    }
  }

  static Policy.Service service(PolicySet state, String name) {
    return state.service(name) instanceof Policy.Service s ? s : null;
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
    return "no Service '" + name + "' is registered and no ServiceEntry declares it; apply a keelson.io/v1alpha1 Service"
        + " (or a ServiceEntry with that host) first, or in the same set";
  }

  /** A route's backend {@code b} (at field path {@code at}): its service exists, has the port named, and the subset is defined. */
  private static void checkBackend(PolicySet state, List<PolicyError> errors, Policy.Meta route, String at,
      boolean istio, Policy.Backend b) {
    String file = route.file();
    String doc = route.key();
    Policy.Service svc = ServiceEntries.serviceOrHost(state, b.service(), route.effectiveNamespace());
    if (svc == null) {
      errors.add(new PolicyError(file, doc, at + (istio ? ".host" : ".name"), noService(b.service())));
      return;
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
