package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** The service registry kinds of {@code keelson.io/v1alpha1}. Stateless. */
final class RegistryParser {
  private RegistryParser() {}

  static final String SESSION_COOKIE_LABEL = "istio.io/persistent-session";
  static final String SESSION_HEADER_LABEL = "istio.io/persistent-session-header";

  static Policy service(Policy.Meta meta, Fields spec, Fields metadata) {
    spec.allow("ports", "addresses", "trafficDistribution");
    List<Integer> ports = new ArrayList<>();
    Map<Integer, Policy.Protocol> protocols = new java.util.HashMap<>();
    for (Fields p : spec.objects("ports", true)) {
      p.allow(Set.of("name", "port", "protocol", "appProtocol"), Map.of());
      Integer port = p.integer("port", 1, 65535, null);
      if (!p.has("port")) {
        p.error("port", "is required");
      }
      Policy.Protocol protocol = protocol(p);
      if (port != null && protocol != Policy.Protocol.HTTP) {
        protocols.put(port, protocol);
      }
      if (port != null) {
        if (ports.contains(port)) {
          p.error("port", "port " + port + " is listed twice");
        }
        ports.add(port);
      }
    }
    return new Policy.Service(meta, List.copyOf(ports), protocols, address(spec), persistentSession(metadata),
        TrafficDistributionField.of(spec, metadata));
  }

  /**
   * Istio's persistent session labels, read as istiod reads them (MaybeBuildStatefulSessionFilterConfig): the cookie
   * label's {@code NAME[:PATH]} (path {@code /} by default) before the header label's {@code NAME}; null without either.
   */
  private static Policy.PersistentSession persistentSession(Fields metadata) {
    Map<String, String> labels = metadata.stringMap("labels");
    String cookie = labels.get(SESSION_COOKIE_LABEL);
    String header = labels.get(SESSION_HEADER_LABEL);
    String at = "labels[\"" + SESSION_COOKIE_LABEL + "\"]";
    if (cookie != null && !cookie.isEmpty()) {
      int colon = cookie.indexOf(':');
      String name = colon < 0 ? cookie : cookie.substring(0, colon);
      String path = colon < 0 ? "/" : cookie.substring(colon + 1);
      if (!TOKEN.matcher(name).matches()) {
        metadata.error(at, "'" + name + "' is not a cookie name; expected NAME or NAME:PATH with NAME a token (RFC 6265)");
        return null;
      }
      if (!path.startsWith("/") || path.chars().anyMatch(c -> c <= ' ' || c == ';' || c >= 0x7f)) {
        metadata.error(at, "'" + path + "' is not a cookie path; expected NAME:PATH with PATH starting with /");
        return null;
      }
      if (header != null) {
        metadata.warn("labels[\"" + SESSION_HEADER_LABEL + "\"]", "ignored: the cookie label " + SESSION_COOKIE_LABEL
            + " wins, as in istiod");
      }
      return new Policy.PersistentSession(name, path, null);
    }
    if (header != null && !header.isEmpty()) {
      if (!TOKEN.matcher(header).matches()) {
        metadata.error("labels[\"" + SESSION_HEADER_LABEL + "\"]", "'" + header + "' is not a header name; expected a token");
        return null;
      }
      String reserved = io.keelson.dataplane.filter.statefulsession.SessionState.Header.reservedProblem(header);
      if (reserved != null) {
        metadata.error("labels[\"" + SESSION_HEADER_LABEL + "\"]", "'" + header + "' " + reserved
            + "; expected a header of its own such as x-session-host");
        return null;
      }
      return new Policy.PersistentSession(null, null, header.toLowerCase(java.util.Locale.ROOT));
    }
    return null;
  }

  private static final java.util.regex.Pattern TOKEN = java.util.regex.Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");

  /**
   * The service's VIP from {@code spec.addresses} (Istio ServiceEntry's field; Kubernetes' clusterIP): one IPv4 or IPv6
   * unicast address ({@code ServiceAddresses#problem}); null when absent.
   */
  private static String address(Fields spec) {
    if (!spec.has("addresses")) {
      return null;
    }
    List<String> addresses = spec.strings("addresses", false);
    if (addresses == null || addresses.size() != 1) {
      spec.error("addresses", "expected one IPv4 or IPv6 address (the service's VIP), e.g. [240.240.0.10] or"
          + " [2001:db8::10]");
      return null;
    }
    String a = addresses.getFirst();
    String problem = io.keelson.control.xds.ServiceAddresses.problem(a);
    if (problem != null) {
      spec.error("addresses[0]", "'" + a + "' " + problem);
      return null;
    }
    return a.contains(":") ? Cidr.parse(a).addressText() : a; // one text per IPv6 address, as Envoy reads it
  }

  /**
   * A port's protocol, as Istio selects it: {@code protocol} (Keelson's field), else {@code appProtocol} (which Istio
   * puts before the name), else the name's prefix ({@code tcp}, {@code tcp-db}, {@code grpc-api}, ...), else AUTO
   * (Istio's protocol detection; routed as HTTP). Names are case-insensitive.
   */
  private static Policy.Protocol protocol(Fields p) {
    String explicit = p.string("protocol", false);
    String app = p.string("appProtocol", false);
    Policy.Protocol fromField = explicit == null ? null : named(p, "protocol", explicit);
    Policy.Protocol fromApp = app == null ? null : named(p, "appProtocol", app);
    if (fromField != null && fromApp != null && fromField != fromApp) {
      p.error("appProtocol", "'" + app + "' contradicts protocol '" + explicit + "'; set one of them");
    }
    if (fromField != null || fromApp != null) {
      return fromField != null ? fromField : fromApp;
    }
    String name = p.string("name", false);
    if (name != null) {
      Policy.Protocol byName = lookup(Policy.Protocol.portNamePrefix(name));
      if (byName != null) {
        return byName;
      }
    }
    return Policy.Protocol.AUTO;
  }

  private static Policy.Protocol named(Fields p, String field, String value) {
    Policy.Protocol found = lookup(value);
    if (found == null) {
      p.error(field, "'" + value + "' is not supported; expected one of HTTP, HTTP2, GRPC, GRPC-Web, TCP, TLS (or HTTPS, as TLS)");
    }
    return found;
  }

  /** A protocol by Istio's name, case-insensitive; HTTPS is TLS (a sidecar does not decrypt it), as in Istio. */
  private static Policy.Protocol lookup(String value) {
    if (value.equalsIgnoreCase("https")) {
      return Policy.Protocol.TLS;
    }
    return Policy.Protocol.byIstioName(value);
  }

  /** A topology label that is set and says otherwise than the locality. */
  private static boolean differs(String label, String locality) {
    return !label.isEmpty() && !label.equals(locality);
  }

  static Policy workload(Policy.Meta meta, Fields spec) {
    spec.allow("service", "address", "port", "labels", "locality");
    String service = spec.serviceName("service", true);
    String address = spec.string("address", true);
    Integer port = spec.integer("port", 1, 65535, null);
    if (!spec.has("port")) {
      spec.error("port", "is required");
    }
    Map<String, String> labels = spec.stringMap("labels");
    String locality = spec.string("locality", false);
    if (locality != null) {
      // As istiod: the locality is the workload's topology labels, which failoverPriority can also name.
      try {
        Locality parsed = Locality.parse(locality);
        Locality labelled = Locality.fromLabels(labels);
        if (differs(labelled.region(), parsed.region()) || differs(labelled.zone(), parsed.zone())
            || differs(labelled.subzone(), parsed.subzone())) {
          spec.error("locality", "'" + locality + "' contradicts the topology labels, which say '" + labelled
              + "'; set one of them");
        }
        labels = parsed.addTo(labels);
      } catch (IllegalArgumentException e) {
        spec.error("locality", e.getMessage());
      }
    }
    if (service == null || address == null || port == null) {
      return null;
    }
    // spec.service names a Service of the Workload's own namespace (as a Kubernetes Endpoint's).
    return new Policy.Workload(meta, ServiceNames.key(service, meta.namespace()), address, port, Map.copyOf(labels));
  }
}
