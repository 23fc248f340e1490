package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gateway API {@code TCPRoute} and {@code TLSRoute} ({@code gateway.networking.k8s.io/v1alpha2}): parentRefs are
 * Services (mesh/GAMMA form: a parentRef's {@code port} picks the service port) and Gateways (their TCP / TLS
 * Passthrough listeners, by {@code sectionName} and {@code port}); one rule whose weighted backendRefs take the
 * connections; a TLSRoute's {@code hostnames} are the SNI names it takes (on a Gateway: optional, wildcards allowed,
 * the listener's hostname without). Stateless.
 */
final class StreamRouteParser {
  private StreamRouteParser() {}

  static Policy route(Policy.Meta meta, Fields spec) {
    boolean tls = meta.kind().equals("TLSRoute");
    if (tls) {
      spec.allow("parentRefs", "hostnames", "rules");
    } else {
      spec.allow(Set.of("parentRefs", "rules"), Map.of("hostnames", "a TCPRoute has no hostnames; use a TLSRoute to route by SNI"));
    }
    List<Integer> ports = new ArrayList<>();
    List<String> services = new ArrayList<>();
    List<String> gateways = GatewayParser.parents(spec, meta, services, ports);
    if (!gateways.isEmpty() && !services.isEmpty()) {
      gateways.add(Policy.Routes.MESH);
    }
    if (ports.stream().distinct().count() > 1) {
      spec.error("parentRefs", "name different ports " + ports.stream().distinct().toList()
          + "; expected one port per route (write one route per port)");
    }
    Integer port = ports.isEmpty() ? null : ports.getFirst();
    List<String> sni = new ArrayList<>();
    if (tls) {
      // Bound to a Gateway, hostnames are optional (the listener's hostname then); in the mesh they are the SNI names.
      for (String h : spec.strings("hostnames", gateways.isEmpty())) {
        if (!gateways.isEmpty() && IstioGatewayParser.gatewayHost(h) && !h.equals("*")) {
          sni.add(h);
        } else if (!gateways.isEmpty()) {
          spec.error("hostnames", "'" + h + "' is not a hostname; expected a DNS name or a wildcard *.example.com");
        } else if (h.startsWith("*")) {
          spec.error("hostnames", "wildcard hostname '" + h + "' is not supported yet; expected exact host names");
        } else {
          sni.add(h);
        }
      }
    }
    List<Fields> rules = spec.objects("rules", true);
    if (rules.size() > 1) {
      spec.error("rules", "has " + rules.size() + " rules; expected one (a connection carries nothing else to match"
          + " on; put every backend in one rule's backendRefs)");
    }
    List<Policy.Backend> backends = List.of();
    if (!rules.isEmpty()) {
      Fields r = rules.getFirst();
      r.allow("name", "backendRefs");
      if (!r.has("backendRefs")) {
        r.error("backendRefs", "is required: a rule without backends sends nothing anywhere");
      }
      backends = GatewayParser.backendRefs(r);
      if (!backends.isEmpty() && backends.stream().mapToLong(Policy.Backend::weight).sum() == 0) {
        r.error("backendRefs", "the weights add up to 0; expected at least one backend with a weight above 0");
      }
    }
    Policy.Protocol protocol = tls ? Policy.Protocol.TLS : Policy.Protocol.TCP;
    return new Policy.Routes(meta, List.copyOf(services), List.of(), List.of(),
        List.of(new Policy.StreamRule(protocol, port, sni, backends, "spec.rules[0]")), gateways);
  }
}
