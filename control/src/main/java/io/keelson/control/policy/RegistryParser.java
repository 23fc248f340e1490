package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The service registry kinds of {@code keelson.io/v1alpha1}. Stateless. */
final class RegistryParser {
  private RegistryParser() {}

  static Policy service(Policy.Meta meta, Fields spec) {
    spec.allow("ports");
    List<Integer> ports = new ArrayList<>();
    for (Fields p : spec.objects("ports", true)) {
      p.allow(Set.of("name", "port", "protocol"), Map.of());
      Integer port = p.integer("port", 1, 65535, null);
      if (!p.has("port")) {
        p.error("port", "is required");
      }
      String protocol = p.string("protocol", false);
      if (protocol != null && !protocol.equals("HTTP")) {
        p.error("protocol", "'" + protocol + "' is not supported yet; expected HTTP");
      }
      if (port != null) {
        if (ports.contains(port)) {
          p.error("port", "port " + port + " is listed twice");
        }
        ports.add(port);
      }
    }
    return new Policy.Service(meta, List.copyOf(ports));
  }

  static Policy workload(Policy.Meta meta, Fields spec) {
    spec.allow("service", "address", "port", "labels");
    String service = spec.string("service", true);
    String address = spec.string("address", true);
    Integer port = spec.integer("port", 1, 65535, null);
    if (!spec.has("port")) {
      spec.error("port", "is required");
    }
    Map<String, String> labels = spec.stringMap("labels");
    if (service == null || address == null || port == null) {
      return null;
    }
    return new Policy.Workload(meta, service, address, port, Map.copyOf(labels));
  }
}
