package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyError;
import java.util.List;

/**
 * The checks of a DestinationRule against the rest of a candidate state that parsing alone cannot make: its
 * {@code tls} settings (the rule's, its subsets' and their port-level ones) apply to ServiceEntry hosts whose endpoints
 * Keelson knows, and mode ISTIO_MUTUAL to registry Services too; its {@code portLevelSettings} apply to ServiceEntry hosts (one cluster per port, as istiod builds
 * them; a registry Service has one cluster for all its ports) and name ports the host has. Stateless.
 */
final class DestinationRuleChecks {
  private DestinationRuleChecks() {}

  static void check(PolicySet state, Policy.DestinationRule dr, List<PolicyError> errors) {
    String file = dr.meta().file();
    String doc = dr.meta().key();
    boolean registry = state.service(dr.host()) != null;
    Policy.ServiceEntry se = ServiceEntries.find(state, dr.host(), dr.meta().effectiveNamespace());
    Policy.Service svc = state.service(dr.host()) instanceof Policy.Service s ? s : null;
    checkProxyProtocol(dr.proxyProtocol(), "spec.trafficPolicy", svc, se, file, doc, errors);
    for (int i = 0; i < dr.subsets().size(); i++) {
      checkProxyProtocol(dr.subsets().get(i).proxyProtocol(), "spec.subsets[" + i + "].trafficPolicy", svc, se, file,
          doc, errors);
    }
    checkLevel(state, dr.tls(), dr.ports(), "spec.trafficPolicy", registry, se, dr.host(), file, doc, errors);
    for (int i = 0; i < dr.subsets().size(); i++) {
      Policy.Subset s = dr.subsets().get(i);
      checkLevel(state, s.tls(), s.ports(), "spec.subsets[" + i + "].trafficPolicy", registry, se, dr.host(), file, doc,
          errors);
    }
  }

  private static void checkLevel(PolicySet state, Policy.ClientTls tls, List<Policy.PortPolicy> ports, String at,
      boolean registry, Policy.ServiceEntry se, String host, String file, String doc, List<PolicyError> errors) {
    checkTls(state, tls, at + ".tls", registry, se, host, file, doc, errors);
    for (int i = 0; i < ports.size(); i++) {
      Policy.PortPolicy p = ports.get(i);
      String pat = at + ".portLevelSettings[" + i + "]";
      if (registry) {
        errors.add(new PolicyError(file, doc, pat, "'" + host + "' is a registry Service, which has one cluster for"
            + " all its ports; port-level settings apply to ServiceEntry hosts only (yet)"));
        return;
      }
      if (se != null && se.port(p.port()) == null) {
        errors.add(new PolicyError(file, doc, pat + ".port.number", "port " + p.port() + " is not a port of ServiceEntry/"
            + se.name() + "; expected one of " + se.ports().stream().map(x -> String.valueOf(x.number()))
            .toList()));
      }
      checkTls(state, p.tls(), pat + ".tls", registry, se, host, file, doc, errors);
    }
  }

  /**
   * The PROXY protocol (set: {@code version} not 0) goes on tcp_proxy clusters only: Keelson's HTTP connection pools
   * are not keyed by the client's address, so a host with an HTTP, HTTP2, GRPC or undeclared (auto) port is refused.
   */
  private static void checkProxyProtocol(int version, String at, Policy.Service svc, Policy.ServiceEntry se,
      String file, String doc, List<PolicyError> errors) {
    if (version == 0) {
      return;
    }
    List<String> http = new java.util.ArrayList<>();
    if (svc != null) {
      svc.ports().stream().filter(p -> svc.protocol(p).http())
          .forEach(p -> http.add(p + " (" + svc.protocol(p).label() + ")"));
    }
    if (se != null) {
      se.ports().stream().filter(p -> p.protocol().http())
          .forEach(p -> http.add(p.number() + " (" + p.protocol().label() + ")"));
    }
    if (!http.isEmpty()) {
      errors.add(new PolicyError(file, doc, at + ".proxyProtocol", "the PROXY protocol is supported on TCP and TLS"
          + " hosts only (tcp_proxy; Keelson's HTTP connection pools are not keyed by client address), and '"
          + (svc != null ? svc.name() : se.name()) + "' has the HTTP ports " + http
          + "; expected every port of the host declared TCP or TLS"));
    }
  }

  /**
   * TLS settings apply to ServiceEntry hosts whose endpoints Keelson knows (not resolution NONE, whose connections go
   * to their original destination): registry Services are reached with mesh mTLS, and take ISTIO_MUTUAL only.
   */
  private static void checkTls(PolicySet state, Policy.ClientTls tls, String at, boolean registry,
      Policy.ServiceEntry se, String host, String file, String doc, List<PolicyError> errors) {
    if (tls == null) {
      return;
    }
    if (registry && !tls.istioMutual()) {
      errors.add(new PolicyError(file, doc, at + ".mode", "'" + host + "' is a registry Service, reached with mesh"
          + " mTLS; of the TLS modes it takes ISTIO_MUTUAL (with sni, subjectAltNames) only (yet); SIMPLE, MUTUAL and"
          + " DISABLE apply to ServiceEntry hosts"));
    } else if (tls.credential() != null && OriginationCredentials.usableIn(state, tls).isEmpty()) {
      // Istio applies it and its gateways wait for the Secret; Keelson refuses a broken reference, as for Gateways.
      String name = tls.credential().name();
      errors.add(new PolicyError(file, doc, at + ".credentialName", "no namespace has a usable Secret '" + name
          + "': expected, in the namespace of the gateway that originates TLS, a Secret (apiVersion: v1) '" + name
          + "' with ca.crt (or a Secret '" + name + OriginationCredentials.CA_SUFFIX + "' with it)"
          + (tls.mutual() ? " and tls.crt and tls.key (mode MUTUAL)" : "")));
    } else if (se != null && (tls.simple() || tls.istioMutual()) && se.resolution() == Policy.Resolution.NONE) {
      errors.add(new PolicyError(file, doc, at + ".mode", "ServiceEntry/" + se.name()
          + " has resolution NONE (connections to their original destination), where TLS origination is not supported"
          + " yet; expected resolution STATIC, DNS or DNS_ROUND_ROBIN"));
    }
  }
}
