package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Istio's {@code ServiceEntry} ({@code networking.istio.io/v1}): hosts, ports, location, resolution, endpoints,
 * exportTo, validated as istiod validates them where Keelson acts on the field; wildcard hosts ({@code *.example.com})
 * with resolution NONE only; {@code workloadSelector} selects WorkloadEntries ({@link #workloadEntry}); {@code addresses}
 * IPv4 or IPv6 addresses or CIDR ranges; fields it does not act on yet ({@code subjectAltNames}) are rejected by name.
 * Stateless.
 */
final class ServiceEntryParser {
  // A DNS name: labels of letters, digits and '-', separated by dots (Istio accepts upper case; Host is case-insensitive).
  private static final Pattern DNS_NAME = Pattern.compile(
      "(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*");
  private static final Pattern PORT_NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
  private static final String PROTOCOLS = "HTTP, HTTP2, GRPC, GRPC-Web, TCP, TLS, HTTPS (as TLS), MONGO, MYSQL, REDIS (as TCP)";

  private ServiceEntryParser() {}

  /**
   * @param namespace the namespace its endpoints' {@code serviceAccount}s are in (its metadata's)
   * @param distribution its annotation's traffic distribution ({@link TrafficDistributionField#annotated})
   */
  static Policy serviceEntry(Policy.Meta meta, Fields spec, String namespace, Policy.TrafficDistribution distribution) {
    spec.allow("hosts", "ports", "location", "resolution", "endpoints", "exportTo", "workloadSelector", "addresses",
        "subjectAltNames");
    List<String> hosts = hosts(spec);
    List<Policy.EntryPort> ports = ports(spec);
    boolean external = true;
    String location = spec.string("location", false);
    if (location != null) {
      switch (location) {
        case "MESH_EXTERNAL" -> external = true;
        case "MESH_INTERNAL" -> external = false;
        default -> spec.error("location", "'" + location + "' is not a location; expected MESH_EXTERNAL or MESH_INTERNAL");
      }
    }
    Policy.Resolution resolution = Policy.Resolution.NONE; // Istio's default
    String r = spec.string("resolution", false);
    if (r != null) {
      try {
        resolution = Policy.Resolution.valueOf(r);
      } catch (IllegalArgumentException e) {
        spec.error("resolution", "'" + r + "' is not a resolution; expected NONE, STATIC, DNS or DNS_ROUND_ROBIN");
        resolution = null;
      }
    }
    List<String> addresses = addresses(spec);
    Map<String, String> selector = workloadSelector(spec, resolution);
    List<Policy.EntryEndpoint> endpoints = endpoints(spec, ports, resolution, selector != null, namespace);
    if (resolution != null && resolution != Policy.Resolution.NONE && hosts.stream().anyMatch(h -> h.startsWith("*."))) {
      spec.error("resolution", resolution + " with a wildcard host: a wildcard names no address to resolve or list;"
          + " expected NONE (the connection goes where the app sent it)");
      return null;
    }
    if (distribution != Policy.TrafficDistribution.ANY && resolution != null
        && resolution != Policy.Resolution.STATIC) {
      // istiod orders EDS endpoints per caller; Keelson sends DNS entries' endpoints inline (no per-caller order)
      spec.error("resolution", resolution + " with annotation " + TrafficDistributionField.ANNOTATION + ": only a"
          + " STATIC entry's endpoints are ordered per caller; expected resolution STATIC, or drop the annotation");
      return null;
    }
    if (resolution == null || hosts.isEmpty() || ports.isEmpty()) {
      return null;
    }
    return new Policy.ServiceEntry(meta, hosts, ports, external, resolution, endpoints, selector, addresses,
        subjectAltNames(spec), namespace, distribution);
  }

  /**
   * {@code subjectAltNames}: what istiod adds to the SAN list of mesh mTLS to the entry's endpoints. Keelson checks
   * mesh certificates' URI SANs, so each must be a SPIFFE ID.
   */
  private static List<String> subjectAltNames(Fields spec) {
    List<String> written = spec.strings("subjectAltNames", false);
    for (int i = 0; i < written.size(); i++) {
      String san = written.get(i);
      if (!san.startsWith("spiffe://") || san.length() == "spiffe://".length() || san.contains(" ")) {
        spec.error("subjectAltNames[" + i + "]", "'" + san + "' is not a SPIFFE ID; expected"
            + " spiffe://<trust domain>/ns/<namespace>/sa/<service account> (mesh mTLS checks the URI SAN of the"
            + " endpoints' workload certificates)");
      }
    }
    return written;
  }

  /**
   * {@code workloadSelector.labels}: the WorkloadEntries (and registry Workloads) whose labels match are the entry's
   * endpoints, as istiod's; null when not given. Istio's rules: not with {@code endpoints}, at least one label; and
   * Keelson's: resolution STATIC or DNS (NONE has no endpoints, DNS_ROUND_ROBIN takes at most one).
   */
  private static Map<String, String> workloadSelector(Fields spec, Policy.Resolution resolution) {
    Fields sel = spec.object("workloadSelector", false);
    if (sel == null) {
      return null;
    }
    sel.allow("labels");
    Map<String, String> labels = Map.copyOf(sel.stringMap("labels"));
    if (labels.isEmpty()) {
      sel.error("labels", "must name at least one label (the WorkloadEntries' labels to select)");
    }
    if (spec.has("endpoints")) {
      spec.error("workloadSelector", "only one of workloadSelector or endpoints is allowed (as Istio); expected"
          + " endpoints listed inline or selected WorkloadEntries");
    }
    if (resolution != null && resolution != Policy.Resolution.STATIC && resolution != Policy.Resolution.DNS) {
      spec.error("workloadSelector", "resolution " + resolution + " takes no selected endpoints; expected resolution"
          + " STATIC (WorkloadEntries with IP addresses) or DNS");
    }
    return labels;
  }

  /**
   * Istio's {@code WorkloadEntry}: one non-Kubernetes workload (a VM), an endpoint of the ServiceEntries whose
   * {@code workloadSelector} its labels match. Its {@code ports} names are checked against those entries' port names
   * when applied ({@code store/WorkloadEntries}).
   */
  static Policy workloadEntry(Policy.Meta meta, Fields spec, String namespace) {
    Policy.EntryEndpoint ep = endpoint(spec, null, false, namespace);
    return ep == null ? null : new Policy.WorkloadEntry(meta, ep);
  }

  /**
   * {@code addresses}: the entry's virtual IPs (what its names resolve to through a captured sidecar's DNS proxy) or
   * CIDR ranges (destinations matched by prefix), IPv4 or IPv6 ({@link #addressProblem}), none inside
   * {@value io.keelson.control.xds.ServiceAddresses#AUTO_RANGE} (a wider range, e.g. {@code 0.0.0.0/0}, is Istio's too); each once (as Envoy reads it: {@code 2001:db8::10}
   * and {@code 2001:DB8:0::10} are one address).
   */
  private static List<String> addresses(Fields spec) {
    List<String> out = new ArrayList<>();
    Set<Cidr> seen = new HashSet<>();
    Cidr auto = Cidr.parse(io.keelson.control.xds.ServiceAddresses.AUTO_RANGE);
    List<String> written = spec.strings("addresses", false);
    for (int i = 0; i < written.size(); i++) {
      String a = written.get(i);
      String at = "addresses[" + i + "]";
      String problem = addressProblem(a);
      if (problem != null) {
        spec.error(at, "'" + a + "' " + problem);
      } else if (auto.contains(Cidr.parse(a))) {
        spec.error(at, "'" + a + "' is inside " + auto + ", where Keelson allocates the registry's VIPs; expected an"
            + " address or range outside it");
      } else if (!seen.add(Cidr.parse(a))) {
        spec.error(at, "address '" + a + "' is listed twice");
      } else {
        out.add(a);
      }
    }
    return out;
  }

  /**
   * Why {@code a} cannot be one of a ServiceEntry's {@code addresses}, or null: an IP prefix ({@link Cidr#problem}),
   * not written IPv4-mapped (that is an IPv4 address); one address (bare, or {@code /32}, {@code /128}) must be one a
   * service can have: IPv4 as the registry's VIPs ({@code ServiceAddresses}), IPv6 unicast (not unspecified, loopback
   * or multicast); no IPv6 one, address or range, inside ::/96 or fe80::/10
   * ({@code ServiceAddresses#reservedIpv6Problem}).
   */
  private static String addressProblem(String a) {
    String problem = Cidr.problem(a);
    if (problem != null) {
      return problem;
    }
    Cidr prefix = Cidr.parse(a);
    if (prefix.length() < prefix.width()) {
      return prefix.width() == 128 ? io.keelson.control.xds.ServiceAddresses.reservedIpv6Problem(prefix) : null;
    }
    int slash = a.indexOf('/');
    return io.keelson.control.xds.ServiceAddresses.problem(slash < 0 ? a : a.substring(0, slash));
  }

  private static List<String> hosts(Fields spec) {
    List<String> hosts = new ArrayList<>();
    List<String> written = spec.strings("hosts", true);
    for (int i = 0; i < written.size(); i++) {
      String h = written.get(i);
      String at = "hosts[" + i + "]";
      if (h.startsWith("*.") && DNS_NAME.matcher(h.substring(2)).matches() && h.substring(2).contains(".")) {
        if (h.endsWith(".svc.cluster.local") || h.endsWith(".svc") || h.equals("*.cluster.local")) {
          spec.error(at, "'" + h + "' names Kubernetes services; register them as keelson.io/v1alpha1 Services instead");
        } else if (hosts.contains(h.toLowerCase(java.util.Locale.ROOT))) {
          spec.error(at, "host '" + h + "' is listed twice");
        } else {
          hosts.add(h.toLowerCase(java.util.Locale.ROOT)); // resolution NONE only: checked by the caller
        }
      } else if (h.contains("*")) {
        spec.error(at, "'" + h + "' is not a wildcard host Keelson takes; expected '*.' then a domain of at least two"
            + " labels (e.g. *.example.com)");
      } else if (!DNS_NAME.matcher(h).matches()) {
        spec.error(at, "'" + h + "' is not a DNS name; expected e.g. api.example.com");
      } else if (h.endsWith(".svc.cluster.local") || h.endsWith(".svc")) {
        spec.error(at, "'" + h + "' names a Kubernetes service; register it as a keelson.io/v1alpha1 Service instead");
      } else if (hosts.contains(h.toLowerCase(java.util.Locale.ROOT))) {
        spec.error(at, "host '" + h + "' is listed twice");
      } else {
        hosts.add(h.toLowerCase(java.util.Locale.ROOT));
      }
    }
    return hosts;
  }

  private static List<Policy.EntryPort> ports(Fields spec) {
    List<Policy.EntryPort> ports = new ArrayList<>();
    Set<String> names = new HashSet<>();
    Set<Integer> numbers = new HashSet<>();
    for (Fields p : spec.objects("ports", true)) {
      p.allow("number", "name", "protocol", "targetPort");
      Integer number = p.integer("number", 1, 65535, null);
      if (!p.has("number")) {
        p.error("number", "is required");
      }
      String name = p.string("name", true);
      if (name != null && !PORT_NAME.matcher(name).matches()) {
        p.error("name", "'" + name + "' is not a port name; expected letters, digits and '-'");
      } else if (name != null && !names.add(name)) {
        p.error("name", "port name '" + name + "' is used twice");
      }
      Integer target = p.integer("targetPort", 1, 65535, 0);
      Policy.Protocol protocol = protocol(p, name);
      if (number != null && !numbers.add(number)) {
        p.error("number", "port " + number + " is listed twice");
      } else if (number != null && protocol != null) {
        ports.add(new Policy.EntryPort(number, name, protocol, target == null ? 0 : target));
      }
    }
    return ports;
  }

  /**
   * {@code protocol} (Istio's names, case-insensitive), else the name's prefix, else AUTO (as istiod: a port with no
   * protocol is detected on sidecars, HTTP by its first bytes, else TCP; routed as HTTP elsewhere).
   */
  private static Policy.Protocol protocol(Fields p, String name) {
    String written = p.string("protocol", false);
    if (written == null) {
      String prefix = name == null ? "" : Policy.Protocol.portNamePrefix(name);
      Policy.Protocol byName = lookup(prefix);
      return byName == null ? Policy.Protocol.AUTO : byName;
    }
    Policy.Protocol found = lookup(written);
    if (found == null) {
      p.error("protocol", "'" + written + "' is not supported; expected one of " + PROTOCOLS);
    }
    return found;
  }

  private static Policy.Protocol lookup(String value) {
    return switch (value.toUpperCase(java.util.Locale.ROOT)) {
      case "HTTP" -> Policy.Protocol.HTTP;
      case "HTTP2" -> Policy.Protocol.HTTP2;
      case "GRPC" -> Policy.Protocol.GRPC;
      case "GRPC-WEB" -> Policy.Protocol.GRPC_WEB;
      case "TCP", "MONGO", "MYSQL", "REDIS" -> Policy.Protocol.TCP; // istiod's defaults: their filters are off
      case "TLS", "HTTPS" -> Policy.Protocol.TLS; // a sidecar does not decrypt HTTPS: routed by SNI
      default -> null;
    };
  }

  /** As istiod: STATIC needs endpoints with IP addresses, NONE has none, DNS_ROUND_ROBIN at most one. */
  private static List<Policy.EntryEndpoint> endpoints(Fields spec, List<Policy.EntryPort> ports,
      Policy.Resolution resolution, boolean selected, String namespace) {
    List<Fields> written = spec.objects("endpoints", false);
    if (resolution == Policy.Resolution.STATIC && written.isEmpty() && !spec.has("endpoints") && !selected) {
      spec.error("endpoints", "is required with resolution STATIC; expected endpoints with IP addresses, or a"
          + " workloadSelector");
    }
    if (resolution == Policy.Resolution.NONE && !written.isEmpty()) {
      spec.error("endpoints", "resolution NONE takes no endpoints (connections go where the app sent them);"
          + " expected STATIC or DNS resolution with endpoints");
    }
    if (resolution == Policy.Resolution.DNS_ROUND_ROBIN && written.size() > 1) {
      spec.error("endpoints", "resolution DNS_ROUND_ROBIN takes at most one endpoint (Envoy's LOGICAL_DNS); found "
          + written.size() + "; expected DNS resolution for several");
    }
    Set<String> portNames = new HashSet<>();
    ports.forEach(p -> portNames.add(p.name()));
    List<Policy.EntryEndpoint> out = new ArrayList<>();
    for (Fields e : written) {
      Policy.EntryEndpoint ep = endpoint(e, portNames, resolution == Policy.Resolution.STATIC, namespace);
      if (ep != null) {
        out.add(ep);
      }
    }
    return out;
  }

  /**
   * An endpoint's (or a WorkloadEntry's spec's) {@code address}, {@code ports}, {@code labels}, {@code weight},
   * {@code serviceAccount} (in {@code namespace}) and {@code locality}; {@code network} refused by name. Null when the
   * address is missing or bad (the error is recorded).
   *
   * @param portNames the ServiceEntry's port names the {@code ports} keys must be, or null to take any port name (a
   *     WorkloadEntry's are checked against the entries that select it)
   * @param ipOnly true when the address must be an IP (resolution STATIC)
   */
  static Policy.EntryEndpoint endpoint(Fields e, Set<String> portNames, boolean ipOnly, String namespace) {
    e.allow(Set.of("address", "ports", "labels", "weight", "serviceAccount", "locality"), Map.of(
        "network", "networks (Istio's multi-network mesh, reached through east-west gateways) are not supported:"
            + " sidecars connect to every endpoint directly; expected the field removed (one network)"));
    String address = e.string("address", true);
    if (address != null) {
      boolean ip = IpLiteral.is(address);
      if (address.startsWith("unix://")) {
        e.error("address", "unix domain socket endpoints are not supported yet; expected an IP address or DNS name");
        address = null;
      } else if (ipOnly && !ip) {
        e.error("address", "'" + address + "' is not an IP address; resolution STATIC needs IP addresses (use"
            + " resolution DNS for host names)");
        address = null;
      } else if (!ip && !DNS_NAME.matcher(address).matches()) {
        e.error("address", "'" + address + "' is neither an IP address nor a DNS name");
        address = null;
      }
    }
    Map<String, Integer> epPorts = new HashMap<>();
    for (var entry : e.stringMap("ports").entrySet()) {
      String n = entry.getKey();
      Integer port = parsePort(entry.getValue());
      if (portNames != null && !portNames.contains(n)) {
        e.error("ports." + n, "no port of this ServiceEntry is named '" + n + "'; expected one of " + portNames);
      } else if (port == null) {
        e.error("ports." + n, "'" + entry.getValue() + "' is not a port; expected a number from 1 to 65535");
      } else {
        epPorts.put(n, port);
      }
    }
    Map<String, String> labels = e.stringMap("labels");
    Integer weight = e.integer("weight", 0, Integer.MAX_VALUE, 0);
    String serviceAccount = e.string("serviceAccount", false);
    if (serviceAccount != null && !SERVICE_ACCOUNT.matcher(serviceAccount).matches()) {
      e.error("serviceAccount", "'" + serviceAccount + "' is not a service account name; expected lower-case letters,"
          + " digits, '-' and '.' (a Kubernetes name, e.g. vm-api)");
      serviceAccount = null;
    }
    Locality locality = Locality.NONE;
    String written = e.string("locality", false);
    if (written != null) {
      try {
        locality = Locality.parse(written);
      } catch (IllegalArgumentException ex) {
        e.error("locality", ex.getMessage());
      }
    }
    return address == null ? null : new Policy.EntryEndpoint(address, epPorts, labels, weight == null ? 0 : weight,
        serviceAccount, namespace, locality);
  }

  // A Kubernetes object name (DNS-1123 subdomain), as a service account's.
  private static final Pattern SERVICE_ACCOUNT = Pattern.compile("(?=.{1,253}$)[a-z0-9]([-a-z0-9.]*[a-z0-9])?");

  private static Integer parsePort(String s) {
    try {
      int p = Integer.parseInt(s);
      return p >= 1 && p <= 65535 ? p : null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

}
