package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.envoyproxy.envoy.config.route.v3.RouteMatch;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * ServiceEntries to Envoy resources, in istiod's shape:
 * <ul>
 *   <li>per host and port a cluster {@code outbound|<port>||<host>} (and {@code outbound|<port>|<subset>|<host>} per
 *       DestinationRule subset, of the endpoints whose labels match): resolution STATIC → EDS (as istiod: its
 *       endpoints in a ClusterLoadAssignment of the cluster's name, so a WorkloadEntry applied, deleted or relabelled
 *       changes EDS only, never the cluster), DNS → STRICT_DNS and DNS_ROUND_ROBIN → LOGICAL_DNS with their names inline
 *       (the entry's endpoints, or the WorkloadEntries its {@code workloadSelector} selects (none: no endpoints), else
 *       the host itself on the port); NONE → ORIGINAL_DST (to where the app sent the connection). Every one gets the defaults and
 *       DestinationRule settings of a registry Service's cluster ({@link ClusterDefaults}): istiod's circuit breakers,
 *       and HTTP/2 upstream for an {@code HTTP2} or {@code GRPC} port ({@link UpstreamProtocols}). Endpoints labelled
 *       {@code security.istio.io/tlsMode: istio} (VMs with a sidecar) get mesh mTLS from a caller with an identity
 *       ({@link EntryMtls}), grouped by locality as a registry Service's; a DestinationRule's {@code tls} mode SIMPLE
 *       originates TLS on its HTTP and TCP ports ({@link #tlsOrigination});
 *   <li>per host and HTTP port a virtual host ({@code host:port}, and {@code host} alone for the port a Host without
 *       port means) with its VirtualServices' routes, in route configuration {@value MeshTranslator#OUTBOUND}
 *       (NONE-resolution entries left out: they need the original destination only capture gives) and in a captured
 *       sidecar's per-port route configuration;
 *   <li>{@code addresses}: the virtual IPs answer for the host in a captured sidecar's DNS name table and join its HTTP
 *       virtual hosts' domains; a TCP port's {@code 0.0.0.0_<port>} then matches the addresses and CIDR ranges
 *       ({@code prefix_ranges}) to the host's cluster and sends the rest where the app sent it (istiod's
 *       {@code <address>_<port>} listeners); a TLS port still routes by SNI;
 *   <li>for a captured sidecar, per TCP port a {@code 0.0.0.0_<port>} listener to the host's cluster and per TLS port
 *       one routing by SNI (the hosts' names), then {@value CapturedListeners#PASSTHROUGH_CHAIN}; a port with no
 *       protocol (AUTO, as istiod) is detected: HTTP by Host, anything else to the one host's cluster when the port is
 *       only that host's, else where the app sent it ({@link DetectedProtocolListeners}).
 * </ul>
 * Stateless.
 */
final class ServiceEntryTranslator {
  private ServiceEntryTranslator() {}

  /**
   * Every cluster of every entry, in host then port order; the ClusterLoadAssignments of the EDS ones (resolution
   * STATIC) are added to {@code assignments}, in the same order.
   */
  static List<Cluster> clusters(PolicySet state, Map<String, Policy.ServiceEntry> entries,
      List<ClusterLoadAssignment> assignments) {
    return clusters(state, entries, assignments, null);
  }

  /**
   * @param trustDomain the calling sidecar's trust domain when it has an identity (mesh mTLS to endpoints labelled
   *     {@code tlsMode: istio}, {@link EntryMtls}), else null (no mesh mTLS: it has no certificate to present; a cluster a DestinationRule
   *     {@code tls} mode ISTIO_MUTUAL covers then gets no endpoints rather than plaintext)
   */
  static List<Cluster> clusters(PolicySet state, Map<String, Policy.ServiceEntry> entries,
      List<ClusterLoadAssignment> assignments, String trustDomain) {
    List<Cluster> out = new ArrayList<>();
    for (var e : new TreeMap<>(entries).entrySet()) {
      String host = e.getKey();
      Policy.ServiceEntry se = e.getValue();
      Policy.DestinationRule dr = MeshTranslator.destinationRule(state, host);
      List<Policy.EntryEndpoint> endpoints = io.keelson.control.store.WorkloadEntries.endpoints(state, se);
      EntryMtls mtls = trustDomain == null ? null : new EntryMtls(trustDomain, se, endpoints);
      for (Policy.EntryPort port : se.ports()) {
        out.add(cluster(se, endpoints, host, port, null, dr == null ? null : dr.forCluster(null, port.number()),
            Map.of(), assignments, mtls));
        if (dr != null) {
          for (Policy.Subset s : dr.subsets()) {
            out.add(cluster(se, endpoints, host, port, s.name(), dr.forCluster(s.name(), port.number()), s.labels(),
                assignments, mtls));
          }
        }
      }
    }
    return out;
  }

  /**
   * @param endpoints the entry's endpoints (inline or selected WorkloadEntries)
   * @param dr the DestinationRule's policy for this cluster ({@link Policy.DestinationRule#forCluster}), or null
   * @param assignments where an EDS cluster's ClusterLoadAssignment goes
   */
  private static Cluster cluster(Policy.ServiceEntry se, List<Policy.EntryEndpoint> endpoints, String host,
      Policy.EntryPort port, String subset, Policy.DestinationRule dr, Map<String, String> selector,
      List<ClusterLoadAssignment> assignments, EntryMtls mtls) {
    Policy.Balancing lb = ConsistentHashing.balancing(dr, null, 0);
    String name = ClusterNames.serviceEntryCluster(port.number(), subset, host);
    Cluster.Builder c = Cluster.newBuilder().setName(name)
        .setConnectTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(10)); // istiod's default
    boolean http2 = UpstreamProtocols.http2(port, dr);
    if (se.resolution() == Policy.Resolution.NONE) {
      c.setType(Cluster.DiscoveryType.ORIGINAL_DST).setLbPolicy(Cluster.LbPolicy.CLUSTER_PROVIDED);
      ClusterDefaults.apply(c, dr, http2, true, false); // outlier detection has no hosts to eject here
      return c.build();
    }
    ConsistentHashing.apply(c, lb);
    Policy.ClientTls tls = dr == null ? null : dr.tls();
    // ISTIO_MUTUAL from a caller without a certificate fails closed: no endpoints (never plaintext), said in status.
    ClusterLoadAssignment cla = tls != null && tls.istioMutual() && mtls == null
        ? ClusterLoadAssignment.newBuilder().setClusterName(name).build()
        : assignment(name, se, endpoints, host, port, selector);
    switch (se.resolution()) {
      case STATIC -> {
        c.setType(Cluster.DiscoveryType.EDS)
            .setEdsClusterConfig(Cluster.EdsClusterConfig.newBuilder().setEdsConfig(MeshTranslator.ADS));
        assignments.add(cla);
      }
      case DNS_ROUND_ROBIN -> c.setType(Cluster.DiscoveryType.LOGICAL_DNS).setLoadAssignment(cla)
          .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED);
      default -> c.setType(Cluster.DiscoveryType.STRICT_DNS).setLoadAssignment(cla)
          .setDnsLookupFamily(Cluster.DnsLookupFamily.V4_PREFERRED);
    }
    ClusterDefaults.apply(c, dr, http2, true, true);
    LocalityAssignments.weighLocalities(c, dr);
    // A TLS port's app speaks TLS itself: not twice. A credentialName is a gateway's (GatewayOrigination): a sidecar
    // originates nothing with it, as istiod's sidecars for a DestinationRule without a workloadSelector.
    if (tls != null && tls.simple()) {
      if (tls.credential() == null && port.protocol() != Policy.Protocol.TLS) {
        c.setTransportSocket(tlsOrigination(tls, host));
      }
    } else if (mtls != null) {
      mtls.apply(c, tls, http2);
    }
    return UpstreamProxyProtocol.wrap(c.build(), dr);
  }

  /**
   * For a proxy without a workload identity: one warning per ServiceEntry cluster a DestinationRule {@code tls} mode
   * ISTIO_MUTUAL gives no endpoints ({@link #clusters}: it has no certificate to present, and plaintext would bypass
   * the rule).
   */
  static List<String> istioMutualWithoutIdentity(PolicySet state) {
    List<String> out = new ArrayList<>();
    for (Policy.Service svc : state.ofType(Policy.Service.class)) { // registry Services' clusters (MeshTranslator)
      Policy.DestinationRule dr = MeshTranslator.destinationRule(state, svc.name());
      List<String> subsets = new ArrayList<>();
      subsets.add(null);
      (dr == null ? List.<Policy.Subset>of() : dr.subsets()).forEach(s -> subsets.add(s.name()));
      for (String subset : subsets) {
        Policy.ClientTls tls = dr == null ? null : dr.forCluster(subset, 0).tls();
        if (tls != null && tls.istioMutual()) {
          out.add(closedWarning(MeshTranslator.subsetCluster(svc.name(), subset), dr));
        }
      }
    }
    for (var e : new TreeMap<>(io.keelson.control.store.ServiceEntries.byHost(state)).entrySet()) {
      Policy.DestinationRule dr = MeshTranslator.destinationRule(state, e.getKey());
      if (dr == null) {
        continue;
      }
      for (Policy.EntryPort port : e.getValue().ports()) {
        List<String> subsets = new ArrayList<>();
        subsets.add(null);
        dr.subsets().forEach(s -> subsets.add(s.name()));
        for (String subset : subsets) {
          Policy.ClientTls tls = dr.forCluster(subset, port.number()).tls();
          if (tls != null && tls.istioMutual()) {
            out.add(closedWarning(ClusterNames.serviceEntryCluster(port.number(), subset, e.getKey()), dr));
          }
        }
      }
    }
    return out;
  }

  private static String closedWarning(String cluster, Policy.DestinationRule dr) {
    return "cluster " + cluster + " has no endpoints: " + dr.meta().key() + " sets tls mode ISTIO_MUTUAL and this"
        + " proxy has no workload identity to present; expected a proxy started with a join token (--token-file)";
  }

  /**
   * Cluster {@code name}'s endpoints: those of {@code endpoints} whose labels match {@code selector}, at their port
   * for {@code port}; the host itself on the port when the entry has neither endpoints nor a workloadSelector.
   */
  private static ClusterLoadAssignment assignment(String name, Policy.ServiceEntry se,
      List<Policy.EntryEndpoint> endpoints, String host, Policy.EntryPort port, Map<String, String> selector) {
    ClusterLoadAssignment.Builder cla = ClusterLoadAssignment.newBuilder().setClusterName(name);
    if (endpoints.isEmpty() && se.workloadSelector() == null) {
      return cla.addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(
          endpoint(host, port.targetPort() > 0 ? port.targetPort() : port.number(), 0, false))).build();
    }
    // One group per locality, as a registry Service's (AssignmentCache): endpoints without one first.
    Map<String, LocalityLbEndpoints.Builder> groups = new TreeMap<>();
    for (Policy.EntryEndpoint ep : endpoints) {
      if (MeshTranslator.matches(selector, ep.labels())) {
        groups.computeIfAbsent(ep.locality().toString(), k -> AssignmentCache.group(ep.locality()))
            .addLbEndpoints(endpoint(ep.address(), ep.portFor(port), ep.weight(), ep.meshTls()));
      }
    }
    groups.values().forEach(cla::addEndpoints);
    return cla.build();
  }

  /** The proxy's own CA bundle when a DestinationRule's tls names no caCertificates (istiod's default on Debian). */
  static final String SYSTEM_ROOTS = "/etc/ssl/certs/ca-certificates.crt";

  /**
   * DestinationRule {@code tls} mode SIMPLE or MUTUAL: Envoy's UpstreamTlsContext with SNI {@code sni} (default the
   * host), trusting {@code caCertificates} (default the system roots) and checking the server's DNS names against
   * {@code subjectAltNames} (default the SNI), unless {@code insecureSkipVerify}; for MUTUAL, presenting
   * {@code clientCertificate} with {@code privateKey} (files the proxy reads, as istiod passes them).
   */
  static io.envoyproxy.envoy.config.core.v3.TransportSocket tlsOrigination(Policy.ClientTls tls, String host) {
    String sni = sni(tls, host);
    var common = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.newBuilder();
    if (!tls.insecureSkipVerify()) {
      common.setValidationContext(serverNames(tls, sni).setTrustedCa(io.envoyproxy.envoy.config.core.v3.DataSource
          .newBuilder().setFilename(tls.caCertificates() != null ? tls.caCertificates() : SYSTEM_ROOTS)));
    }
    if (tls.mutual()) {
      common.addTlsCertificates(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate.newBuilder()
          .setCertificateChain(io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder()
              .setFilename(tls.clientCertificate()))
          .setPrivateKey(io.envoyproxy.envoy.config.core.v3.DataSource.newBuilder().setFilename(tls.privateKey())));
    }
    return upstreamTls(sni, common);
  }

  /** The SNI a DestinationRule's tls sends: its {@code sni}, else the host. */
  static String sni(Policy.ClientTls tls, String host) {
    return tls.sni() != null ? tls.sni() : host;
  }

  /** The DNS names the server's certificate must have: {@code subjectAltNames}, else the SNI. */
  static io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext.Builder serverNames(
      Policy.ClientTls tls, String sni) {
    var validation = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext.newBuilder();
    for (String san : tls.subjectAltNames().isEmpty() ? List.of(sni) : tls.subjectAltNames()) {
      validation.addMatchTypedSubjectAltNames(
          io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.newBuilder()
              .setSanType(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher.SanType.DNS)
              .setMatcher(io.envoyproxy.envoy.type.matcher.v3.StringMatcher.newBuilder().setExact(san)));
    }
    return validation;
  }

  /** Envoy's TLS transport socket with an UpstreamTlsContext of {@code sni} and {@code common}. */
  static io.envoyproxy.envoy.config.core.v3.TransportSocket upstreamTls(String sni,
      io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.Builder common) {
    var upstream = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.newBuilder()
        .setSni(sni).setCommonTlsContext(common).build();
    return io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder().setName("envoy.transport_sockets.tls")
        .setTypedConfig(Any.pack(upstream)).build();
  }

  /** @param meshTls true for an endpoint labelled {@code tlsMode: istio}: istiod's metadata {@link EntryMtls} matches */
  private static LbEndpoint endpoint(String address, int port, int weight, boolean meshTls) {
    LbEndpoint.Builder b = LbEndpoint.newBuilder()
        .setEndpoint(Endpoint.newBuilder().setAddress(MeshTranslator.address(address, port)));
    if (weight > 0) {
      b.setLoadBalancingWeight(UInt32Value.of(weight));
    }
    if (meshTls) {
      b.setMetadata(EntryMtls.ISTIO_ENDPOINT);
    }
    return b.build();
  }

  /** Route configuration {@value MeshTranslator#OUTBOUND}'s virtual hosts: every host's HTTP ports (not NONE's). */
  static List<VirtualHost> outboundHosts(PolicySet state, ClusterNames names) {
    List<VirtualHost> out = new ArrayList<>();
    for (var e : new TreeMap<>(names.entries()).entrySet()) {
      Policy.ServiceEntry se = e.getValue();
      if (se.resolution() == Policy.Resolution.NONE) {
        continue;
      }
      int bare = ClusterNames.defaultPort(se);
      for (Policy.EntryPort p : se.ports()) {
        if (p.protocol().http()) {
          out.add(virtualHost(state, e.getKey(), p.number(), p.number() == bare, names.forPort(p.number())));
        }
      }
    }
    return out;
  }

  /** The hosts whose port {@code port} declares no protocol (AUTO), in name order. */
  static List<String> autoHosts(ClusterNames names, int port) {
    List<String> out = new ArrayList<>();
    for (var e : new TreeMap<>(names.entries()).entrySet()) {
      Policy.EntryPort p = e.getValue().port(port);
      if (p != null && p.protocol() == Policy.Protocol.AUTO) {
        out.add(e.getKey());
      }
    }
    return out;
  }

  /** A captured sidecar's route configuration {@code <port>}: the hosts with HTTP port {@code port}. */
  static List<VirtualHost> portHosts(PolicySet state, ClusterNames names, int port) {
    List<VirtualHost> out = new ArrayList<>();
    for (var e : new TreeMap<>(names.entries()).entrySet()) {
      Policy.EntryPort p = e.getValue().port(port);
      if (p != null && p.protocol().http()) {
        out.add(virtualHost(state, e.getKey(), port, true, names.forPort(port)));
      }
    }
    return out;
  }

  private static VirtualHost virtualHost(PolicySet state, String host, int port, boolean bare, ClusterNames names) {
    VirtualHost.Builder vh = VirtualHost.newBuilder().setName(host + ":" + port).setIncludeRequestAttemptCount(true);
    if (bare) {
      vh.addDomains(host);
    }
    vh.addDomains(host + ":" + port);
    for (String vip : names.entries().get(host).virtualIps()) { // an app that sends its address as Host, as istiod
      String authority = authority(vip);
      vh.addDomains(authority).addDomains(authority + ":" + port);
    }
    for (Policy.Routes r : MeshTranslator.routesOf(state, host)) {
      for (Policy.Rule rule : io.keelson.control.store.Delegation.rules(state, r)) {
        RouteBuilder.addRoutes(vh, r, rule, state, names, Policy.Routes.MESH, port);
      }
    }
    if (vh.getRoutesCount() == 0) {
      vh.addRoutes(RouteBuilder.defaultRoute(host, names.of(host, null, port), state, port));
    }
    return vh.build();
  }

  /** {@code vip} as a Host header names it: IPv6 in brackets, in its RFC 5952 form (what clients write). */
  static String authority(String vip) {
    return vip.contains(":") ? "[" + io.keelson.control.policy.Cidr.parse(vip).addressText() + "]" : vip;
  }

  /**
   * Every port of the entries, ascending: a captured sidecar needs a {@code 0.0.0.0_<port>} listener for each (HTTP
   * ports' routes, or {@link #streamListener} for TCP and TLS ports).
   */
  static TreeSet<Integer> ports(Map<String, Policy.ServiceEntry> entries) {
    TreeSet<Integer> out = new TreeSet<>();
    entries.values().forEach(se -> se.ports().forEach(p -> out.add(p.number())));
    return out;
  }

  /**
   * A captured sidecar's {@code 0.0.0.0_<port>} for the entries' TCP or TLS port {@code port} (References keeps it
   * from being a registry Service's), by the registry's code ({@link StreamListeners}): TCP to the one host's cluster
   * (or its first {@code tcp} rule's), or with {@code addresses} a chain per TCP host by its addresses; TLS a chain per {@code tls} rule of the hosts by its SNI hosts, then a chain per
   * host by its name, then the passthrough chain. Null when no entry has a TCP or TLS port {@code port}.
   */
  static Listener streamListener(PolicySet state, ClusterNames names, int port) {
    List<String> tls = new ArrayList<>();
    List<String> tcp = new ArrayList<>();
    for (var e : new TreeMap<>(names.entries()).entrySet()) {
      Policy.EntryPort p = e.getValue().port(port);
      if (p != null && p.protocol() == Policy.Protocol.TCP) {
        tcp.add(e.getKey());
      } else if (p != null && p.protocol() == Policy.Protocol.TLS) {
        tls.add(e.getKey());
      }
    }
    ClusterNames at = names.forPort(port);
    if (tcp.isEmpty()) {
      return tls.isEmpty() ? null : StreamListeners.tls(state, at, port, tls, List::of);
    }
    Map<String, List<String>> prefixes = new java.util.LinkedHashMap<>();
    tcp.forEach(h -> prefixes.put(h, names.entries().get(h).addresses()));
    // References: several TCP hosts on a port only when every one has addresses.
    return prefixes.values().iterator().next().isEmpty() ? StreamListeners.tcp(state, at, port, tcp.getFirst())
        : StreamListeners.tcpByPrefixes(state, at, port, prefixes);
  }

  /** The entry hosts with virtual IPs ({@link Policy.ServiceEntry#virtualIps}) and those IPs: the DNS proxy's answers. */
  static Map<String, List<String>> virtualIps(Map<String, Policy.ServiceEntry> entries) {
    Map<String, List<String>> out = new TreeMap<>();
    entries.forEach((host, se) -> {
      if (!se.virtualIps().isEmpty()) {
        out.put(host, se.virtualIps());
      }
    });
    return out;
  }
}
