package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import java.util.ArrayList;
import java.util.List;

/**
 * The SNI names ({@code filter_chain_match.server_names}) of a TLS passthrough rule on a gateway server, as istiod
 * matches them: each of the rule's names a server host covers, as the more specific of the two names (a TLSRoute
 * {@code *.example.com} on a listener {@code a.example.com}: {@code a.example.com}); a Gateway API TLSRoute without
 * hostnames takes the server's hosts. {@code *} alone means every name (a chain without server_names). Stateless.
 */
final class StreamServerNames {
  private StreamServerNames() {}

  static List<String> of(Policy.StreamRule rule, boolean istio, Policy.Server server) {
    List<String> wanted = rule.sniHosts().isEmpty() && !istio ? List.of("*") : rule.sniHosts();
    List<String> out = new ArrayList<>();
    for (String h : wanted) {
      for (String host : server.hosts()) {
        String both = io.keelson.control.policy.GatewayHosts.intersection(host, h);
        if (both != null && !out.contains(both)) {
          out.add(both);
        }
      }
    }
    return out;
  }
}
