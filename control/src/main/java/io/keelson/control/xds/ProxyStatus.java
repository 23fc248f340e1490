package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One connected proxy as {@code status} reports it. Immutable.
 *
 * @param types per resource type (listeners, routes, clusters, endpoints): versions sent/ACKed, ACK or NACK, last error
 * @param workload the workload it registered through its node metadata, or null
 * @param warnings what the mesh has that this proxy cannot serve (e.g. TCP services for a sidecar without capture)
 * @param locality where it runs ({@code region/zone/subzone}, its endpoints are ordered by it), or "" when not known
 * @param gateway  an ingress gateway's labels and bind address, or null for a sidecar
 * @param sidecar  the Istio Sidecar resource scoping its outbound view ({@code Sidecar/namespace/name}), or null
 * @param envoyFilters the EnvoyFilters patching its resources ({@code EnvoyFilter/namespace/name}), in the order applied
 */
public record ProxyStatus(String nodeId, String service, boolean delta, boolean proxyless, String connectedAt,
    Map<String, ProxyState.TypeState> types, Policy.Workload workload, java.util.List<String> warnings,
    String locality, NodeRegistration.Gateway gateway, String sidecar, java.util.List<String> envoyFilters) {

  static ProxyStatus of(ProxyState p, Policy.Workload w, java.util.List<String> warnings, NodeRegistration.Gateway gateway,
      String sidecar, java.util.List<String> envoyFilters) {
    Map<String, ProxyState.TypeState> byName = new LinkedHashMap<>();
    p.types().forEach((url, t) -> byName.put(shortName(url), t));
    return new ProxyStatus(p.nodeId, p.service, p.delta, p.proxyless, p.connectedAt.toString(), byName, w,
        java.util.List.copyOf(warnings), p.locality.toString(), gateway, sidecar, java.util.List.copyOf(envoyFilters));
  }

  /**
   * The warning for a proxy without traffic capture when the mesh has TCP or TLS service ports: its outbound
   * listener speaks HTTP only, so it cannot reach them. Empty when there are none.
   */
  static java.util.List<String> streamWarnings(java.util.List<Policy.Service> services) {
    java.util.List<String> ports = new java.util.ArrayList<>();
    for (Policy.Service s : services) {
      for (int port : s.ports()) {
        if (!s.protocol(port).http()) {
          ports.add(s.name() + ":" + port + " (" + s.protocol(port).label() + ")");
        }
      }
    }
    return ports.isEmpty() ? java.util.List.of() : java.util.List.of("cannot reach " + String.join(", ", ports)
        + ": TCP and TLS services need traffic capture (a sidecar with --capture iptables); this proxy's outbound"
        + " listener serves HTTP only");
  }

  /**
   * The warning for a sidecar without an identity that CUSTOM AuthorizationPolicies ({@code namespace/name}) may
   * select: CUSTOM is enforced on the inbound listener of sidecars with an identity only, so its app is not checked
   * by the provider. Empty when there are none.
   */
  static java.util.List<String> customWarnings(java.util.List<String> policies) {
    return policies.isEmpty() ? java.util.List.of() : java.util.List.of("CUSTOM AuthorizationPolicy "
        + String.join(", ", policies) + " selects this sidecar's labels but is not enforced here: the sidecar has no"
        + " identity (no SPIFFE ID; its namespace is unknown and its inbound listener is not the control plane's);"
        + " connect it with a join token and an identity so the provider checks its inbound requests");
  }

  /**
   * The warning for a TCP app whose CUSTOM AuthorizationPolicies name an envoyExtAuthzHttp provider: as istiod, a TCP
   * chain gets no check from an HTTP provider, so its connections are not checked at all.
   */
  static String httpProviderOnTcpWarning(String provider) {
    return "CUSTOM AuthorizationPolicy provider '" + provider + "' is envoyExtAuthzHttp, which cannot check this"
        + " sidecar's TCP app (its connections are not checked, as with istiod); use an envoyExtAuthzGrpc provider for"
        + " TCP workloads";
  }

  /**
   * The warning for an undeclared-protocol app port of a sidecar with an identity whose CUSTOM AuthorizationPolicies
   * name an envoyExtAuthzHttp provider: its HTTP chains check, but its TCP chains (as istiod's) get no check.
   */
  static String httpProviderOnAutoPortWarning(String provider) {
    return "CUSTOM AuthorizationPolicy provider '" + provider + "' is envoyExtAuthzHttp, which cannot check the TCP"
        + " connections to this sidecar's app port of undeclared protocol (a client offering ALPN istio, or plaintext"
        + " not detected as HTTP, reaches the app unchecked, as with istiod); declare the port's protocol (http) or use"
        + " an envoyExtAuthzGrpc provider";
  }

  static String shortName(String typeUrl) {
    return switch (typeUrl.substring(typeUrl.lastIndexOf('.') + 1)) {
      case "Listener" -> "listeners";
      case "RouteConfiguration" -> "routes";
      case "Cluster" -> "clusters";
      case "ClusterLoadAssignment" -> "endpoints";
      default -> typeUrl;
    };
  }
}
