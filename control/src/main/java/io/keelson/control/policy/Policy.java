package io.keelson.control.policy;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A validated policy document, reduced to what Keelson acts on. Every variant is immutable; the
 * original YAML is kept in {@link Meta#source()} so {@code get} shows what was applied.
 */
public sealed interface Policy {
  Meta meta();

  default String kind() {
    return meta().kind();
  }

  default String name() {
    return meta().name();
  }

  /**
   * Kind, name, the file it came from, its YAML text as applied, and its namespace: "" for the kinds
   * that are mesh-wide in Keelson (Service, Workload, routes), the document's (default "default") for
   * Istio's security kinds, which are namespaced. Documents are keyed by kind, namespace and name.
   *
   * @param exportTo Istio's {@code exportTo} as written ({@code spec.exportTo}, or a Service's
   *                 {@code networking.istio.io/exportTo} annotation): {@code .}, {@code *}, {@code ~} or namespace
   *                 names; empty: the mesh default ({@link ExportTo})
   */
  record Meta(String apiVersion, String kind, String name, String file, String source, String namespace,
      List<String> exportTo) {
    public Meta(String apiVersion, String kind, String name, String file, String source) {
      this(apiVersion, kind, name, file, source, "");
    }

    public Meta(String apiVersion, String kind, String name, String file, String source, String namespace) {
      this(apiVersion, kind, name, file, source, namespace, List.of());
    }

    public Meta {
      namespace = namespace == null ? "" : namespace;
      exportTo = exportTo == null ? List.of() : List.copyOf(exportTo);
    }

    /** This document's namespace: {@code default} when keyed without one. */
    public String effectiveNamespace() {
      return namespace.isEmpty() ? ServiceNames.DEFAULT_NAMESPACE : namespace;
    }

    /** {@code Kind/name}, or {@code Kind/namespace/name} for a namespaced document. */
    public String key() {
      return key(kind, namespace, name);
    }

    public static String key(String kind, String namespace, String name) {
      return namespace == null || namespace.isEmpty() ? kind + "/" + name : kind + "/" + namespace + "/" + name;
    }
  }

  default String namespace() {
    return meta().namespace();
  }

  /**
   * {@code keelson.io/v1alpha1 Service}: a name clients use as the Host, and its ports, each with its
   * protocol (a port missing from {@code protocols} is HTTP).
   */
  /**
   * A service of the registry.
   *
   * @param address its VIP when the document sets one ({@code spec.addresses}: one IPv4 address), else null: then one
   *                is allocated ({@code xds/ServiceAddresses})
   * @param session Istio's persistent session from its {@code istio.io/persistent-session(-header)} label, or null
   * @param trafficDistribution Kubernetes' {@code spec.trafficDistribution} (or Istio's annotation
   *                    {@code networking.istio.io/traffic-distribution}): which endpoints callers prefer, as istiod
   *                    programs it ({@code xds/LocalityAssignments})
   */
  record Service(Meta meta, List<Integer> ports, Map<Integer, Protocol> protocols, String address,
      PersistentSession session, TrafficDistribution trafficDistribution) implements Policy {
    public Service {
      ports = List.copyOf(ports);
      protocols = Map.copyOf(protocols);
      trafficDistribution = trafficDistribution == null ? TrafficDistribution.ANY : trafficDistribution;
    }

    public Service(Meta meta, List<Integer> ports, Map<Integer, Protocol> protocols, String address,
        PersistentSession session) {
      this(meta, ports, protocols, address, session, TrafficDistribution.ANY);
    }

    public Service(Meta meta, List<Integer> ports, Map<Integer, Protocol> protocols, String address) {
      this(meta, ports, protocols, address, null);
    }

    public Service(Meta meta, List<Integer> ports, Map<Integer, Protocol> protocols) {
      this(meta, ports, protocols, null);
    }

    /** Every port HTTP. */
    public Service(Meta meta, List<Integer> ports) {
      this(meta, ports, Map.of());
    }

    public Protocol protocol(int port) {
      return protocols.getOrDefault(port, Protocol.HTTP);
    }

    /**
     * Its key ({@link ServiceNames}): {@code NAME} in namespace default, {@code NAME.NS} in namespace NS. Every
     * translation keys the service by it (clusters, VIPs, subsets, routes' backends), so a name is unique mesh-wide.
     * {@code meta().name()} is the name as written.
     */
    @Override
    public String name() {
      return ServiceNames.key(meta.name(), meta.namespace());
    }

    /** Its namespace, {@code default} when the document gives none. */
    public String serviceNamespace() {
      return ServiceNames.namespace(meta);
    }
  }

  /**
   * Which endpoints callers prefer (istiod's {@code model.TrafficDistribution}): any, the same zone (Kubernetes'
   * {@code PreferClose} and its newer name {@code PreferSameZone}), or the same node ({@code PreferSameNode}: the
   * caller's node, then its subzone, zone, region).
   */
  enum TrafficDistribution { ANY, PREFER_SAME_ZONE, PREFER_SAME_NODE }

  /**
   * A service port's protocol (Istio's names). HTTP, HTTP2 and GRPC are routed as HTTP (the data plane's HTTP
   * connection manager takes HTTP/1.1 and HTTP/2 from the app); HTTP2 and GRPC make the upstream hops (sidecar to
   * sidecar, sidecar to app) HTTP/2, as istiod does (xds/UpstreamProtocols). TCP: bytes to the service's cluster
   * (tcp_proxy). TLS: the app speaks TLS itself; connections are routed by SNI, not decrypted. GRPC_WEB (Istio's
   * {@code GRPC-Web}, port names {@code grpc-web*}): gRPC whose HTTP connection managers also run
   * envoy.filters.http.grpc_web, as istiod adds it for such ports (xds/GrpcWebFilter). AUTO: a registry port that
   * declares no protocol (Istio's auto-detection): routed as HTTP everywhere, and a captured sidecar's listeners for
   * it detect HTTP in the first bytes (envoy.filters.listener.http_inspector) and relay anything else as TCP. Not a
   * name a document can give.
   */
  enum Protocol {
    HTTP, HTTP2, GRPC, GRPC_WEB, TCP, TLS, AUTO;

    /** Routed as HTTP (AUTO included: its HTTP traffic is). */
    public boolean http() {
      return this == HTTP || this == HTTP2 || this == GRPC || this == GRPC_WEB || this == AUTO;
    }

    /** Istio's name, lower-case for AUTO ({@code auto}), as status and explain print it. */
    public String label() {
      return this == AUTO ? "auto" : this == GRPC_WEB ? "GRPC-Web" : name();
    }

    /** The upstream hops speak HTTP/2 (Istio's {@code IsHTTP2()}). */
    public boolean http2() {
      return this == HTTP2 || this == GRPC || this == GRPC_WEB;
    }

    /** Istio's name of a protocol, case-insensitive ({@code GRPC-Web} for GRPC_WEB), or null. */
    public static Protocol byIstioName(String value) {
      if (value.equalsIgnoreCase("grpc-web")) {
        return GRPC_WEB;
      }
      for (Protocol p : values()) {
        if (p != GRPC_WEB && p != AUTO && p.name().equalsIgnoreCase(value)) {
          return p;
        }
      }
      return null;
    }

    /**
     * The protocol part of a port name, as Istio reads it: {@code grpc-web} for a name starting with it (checked
     * before the split, since the protocol itself has a '-'), else the part before the first '-' (the whole name
     * without one).
     */
    public static String portNamePrefix(String name) {
      return name.regionMatches(true, 0, "grpc-web", 0, 8) ? "grpc-web"
          : name.contains("-") ? name.substring(0, name.indexOf('-')) : name;
    }
  }

  /**
   * Istio {@code networking.istio.io/v1 ServiceEntry}: services outside the registry (external APIs, databases, VMs),
   * reached by {@code hosts} (exact DNS names) on {@code ports}. {@code external}: MESH_EXTERNAL (no auto mTLS, as
   * istiod; a DestinationRule's ISTIO_MUTUAL still applies). {@code subjectAltNames}: SPIFFE IDs its endpoints may
   * present over mesh mTLS besides their {@code serviceAccount}s' (istiod's SAN list).
   * Endpoints: {@code endpoints} when given; the WorkloadEntries (not registry Workloads) whose labels match
   * {@code workloadSelector} (null: none) when that is given; else (DNS resolution) the host itself on each port.
   * {@code addresses}: IPv4 virtual IPs and CIDR ranges as written (empty: none), told apart by a captured sidecar;
   * compared as Envoy reads them ({@link Cidr}). {@code writtenNamespace}: its {@code metadata.namespace} as written
   * ({@code default} when not), the only namespace whose WorkloadEntries its {@code workloadSelector} selects (istiod's
   * rule); the entry itself is kept in the one mesh namespace. {@code trafficDistribution}: its annotation
   * {@code networking.istio.io/traffic-distribution}, as istiod reads it for entries.
   */
  record ServiceEntry(Meta meta, List<String> hosts, List<EntryPort> ports, boolean external, Resolution resolution,
      List<EntryEndpoint> endpoints, Map<String, String> workloadSelector, List<String> addresses,
      List<String> subjectAltNames, String writtenNamespace, TrafficDistribution trafficDistribution)
      implements Policy {
    public ServiceEntry {
      trafficDistribution = trafficDistribution == null ? TrafficDistribution.ANY : trafficDistribution;
      subjectAltNames = subjectAltNames == null ? List.of() : List.copyOf(subjectAltNames);
      writtenNamespace = writtenNamespace == null ? "default" : writtenNamespace;
      hosts = List.copyOf(hosts);
      ports = List.copyOf(ports);
      endpoints = List.copyOf(endpoints);
      workloadSelector = workloadSelector == null ? null : Map.copyOf(workloadSelector);
      addresses = List.copyOf(addresses);
    }

    /** This entry with only {@code hosts} (a view that sees some of them). */
    public ServiceEntry withHosts(List<String> hosts) {
      return narrowed(meta, hosts, ports);
    }

    /** This entry as {@code meta}, with only {@code hosts} and {@code ports} (a view that sees part of it). */
    public ServiceEntry narrowed(Meta meta, List<String> hosts, List<EntryPort> ports) {
      return new ServiceEntry(meta, hosts, ports, external, resolution, endpoints, workloadSelector, addresses,
          subjectAltNames, writtenNamespace, trafficDistribution);
    }

    /** Without a traffic distribution. */
    public ServiceEntry(Meta meta, List<String> hosts, List<EntryPort> ports, boolean external, Resolution resolution,
        List<EntryEndpoint> endpoints, Map<String, String> workloadSelector, List<String> addresses,
        List<String> subjectAltNames, String writtenNamespace) {
      this(meta, hosts, ports, external, resolution, endpoints, workloadSelector, addresses, subjectAltNames,
          writtenNamespace, TrafficDistribution.ANY);
    }

    /** Written in namespace {@code default}. */
    public ServiceEntry(Meta meta, List<String> hosts, List<EntryPort> ports, boolean external, Resolution resolution,
        List<EntryEndpoint> endpoints, Map<String, String> workloadSelector, List<String> addresses,
        List<String> subjectAltNames) {
      this(meta, hosts, ports, external, resolution, endpoints, workloadSelector, addresses, subjectAltNames, null);
    }

    /** Without {@code subjectAltNames}. */
    public ServiceEntry(Meta meta, List<String> hosts, List<EntryPort> ports, boolean external, Resolution resolution,
        List<EntryEndpoint> endpoints, Map<String, String> workloadSelector, List<String> addresses) {
      this(meta, hosts, ports, external, resolution, endpoints, workloadSelector, addresses, List.of());
    }

    /** An entry with its endpoints inline (no {@code workloadSelector}) and no {@code addresses}. */
    public ServiceEntry(Meta meta, List<String> hosts, List<EntryPort> ports, boolean external, Resolution resolution,
        List<EntryEndpoint> endpoints) {
      this(meta, hosts, ports, external, resolution, endpoints, null, List.of());
    }

    /** {@code addresses} that are single IPv4 addresses (not CIDR ranges): what the entry's names resolve to. */
    public List<String> virtualIps() {
      return addresses.stream().filter(a -> !a.contains("/")).toList();
    }

    public EntryPort port(int number) {
      for (EntryPort p : ports) {
        if (p.number() == number) {
          return p;
        }
      }
      return null;
    }
  }

  /** A ServiceEntry port: number, name, protocol, and the endpoints' port when they do not say (0: the number). */
  record EntryPort(int number, String name, Protocol protocol, int targetPort) {}

  /**
   * A ServiceEntry endpoint (Istio's WorkloadEntry): an IP or DNS name, its port per service port name (missing: the
   * port's targetPort or number), labels (what DestinationRule subsets select on; {@code security.istio.io/tlsMode:
   * istio} says it runs a sidecar taking mesh mTLS), weight (0: unset), {@code serviceAccount} (null: none) in
   * {@code namespace} (the WorkloadEntry's or ServiceEntry's), and {@code locality} ({@link Locality#NONE}: none).
   */
  record EntryEndpoint(String address, Map<String, Integer> ports, Map<String, String> labels, int weight,
      String serviceAccount, String namespace, Locality locality) {
    /** Istio's endpoint label saying the workload speaks Istio mTLS (value {@value #ISTIO}) or not. */
    public static final String TLS_MODE_LABEL = "security.istio.io/tlsMode";
    public static final String ISTIO = "istio";

    public EntryEndpoint {
      ports = Map.copyOf(ports);
      labels = Map.copyOf(labels);
      locality = locality == null ? Locality.NONE : locality;
    }

    /** Without service account or locality. */
    public EntryEndpoint(String address, Map<String, Integer> ports, Map<String, String> labels, int weight) {
      this(address, ports, labels, weight, null, "", Locality.NONE);
    }

    /** True when it runs a sidecar taking mesh mTLS (label {@value #TLS_MODE_LABEL}: {@value #ISTIO}). */
    public boolean meshTls() {
      return ISTIO.equals(labels.get(TLS_MODE_LABEL));
    }

    /** Its service account as Istio names it, {@code <namespace>/<serviceAccount>}, or null. */
    public String identity() {
      return serviceAccount == null ? null : (namespace.isEmpty() ? "default" : namespace) + "/" + serviceAccount;
    }

    /** This endpoint's port for service port {@code p}. */
    public int portFor(EntryPort p) {
      Integer mapped = p.name() == null ? null : ports.get(p.name());
      return mapped != null ? mapped : p.targetPort() > 0 ? p.targetPort() : p.number();
    }
  }

  /**
   * Istio {@code networking.istio.io/v1 WorkloadEntry}: a workload outside the registry (a VM), the endpoint of each
   * ServiceEntry whose {@code workloadSelector} its labels match.
   */
  record WorkloadEntry(Meta meta, EntryEndpoint endpoint) implements Policy {}

  /** How a ServiceEntry's endpoints are found (Istio's names; the Envoy cluster type each becomes). */
  enum Resolution {
    /** ORIGINAL_DST: to where the app sent the connection (captured sidecars). */
    NONE,
    /** STATIC: the endpoints' IP addresses. */
    STATIC,
    /** STRICT_DNS: every address the names resolve to. */
    DNS,
    /** LOGICAL_DNS: the first address a name resolves to, for each new connection. */
    DNS_ROUND_ROBIN
  }

  /**
   * Linkerd's {@code HTTPLocalRateLimitPolicy} ({@code policy.linkerd.io/v1alpha1}) aimed at a Keelson Service (Linkerd
   * aims it at a Server): each of the service's sidecars admits at most {@code totalRequestsPerSecond} requests per
   * second to its app, as Linkerd's {@code total} limit (per proxy, not per service).
   */
  record HttpLocalRateLimitPolicy(Meta meta, String service, int totalRequestsPerSecond) implements Policy {}

  /**
   * {@code keelson.io/v1alpha1 Workload}: one instance of a service. Its locality is in its topology labels
   * ({@link Locality}; {@code spec.locality} is written there).
   */
  record Workload(Meta meta, String service, String address, int port, Map<String, String> labels) implements Policy {
    public Locality locality() {
      return Locality.fromLabels(labels);
    }
  }

  /**
   * Istio {@code DestinationRule}: subsets by labels and a load balancer. lb is null when not set;
   * {@code consistentHash} (null when not set) replaces it when set (Istio's {@code loadBalancer} is one or the other).
   * {@code ports}: the trafficPolicy's {@code portLevelSettings}; {@link #forCluster} merges them as istiod does.
   * {@code proxyProtocol}: the trafficPolicy's {@code proxyProtocol.version}, 1 or 2 (0: not set).
   */
  record DestinationRule(Meta meta, String host, String lb, List<Subset> subsets, ConnectionPool connectionPool,
      OutlierDetection outlierDetection, ClientTls tls, LocalityLbSetting localityLb, ConsistentHash consistentHash,
      Warmup warmup, List<PortPolicy> ports, int proxyProtocol) implements Policy {
    public DestinationRule {
      subsets = subsets == null ? List.of() : List.copyOf(subsets);
      ports = ports == null ? List.of() : List.copyOf(ports);
    }

    /** Without the PROXY protocol. */
    public DestinationRule(Meta meta, String host, String lb, List<Subset> subsets, ConnectionPool connectionPool,
        OutlierDetection outlierDetection, ClientTls tls, LocalityLbSetting localityLb, ConsistentHash consistentHash,
        Warmup warmup, List<PortPolicy> ports) {
      this(meta, host, lb, subsets, connectionPool, outlierDetection, tls, localityLb, consistentHash, warmup, ports, 0);
    }

    /** Without port-level settings. */
    public DestinationRule(Meta meta, String host, String lb, List<Subset> subsets, ConnectionPool connectionPool,
        OutlierDetection outlierDetection, ClientTls tls, LocalityLbSetting localityLb, ConsistentHash consistentHash,
        Warmup warmup) {
      this(meta, host, lb, subsets, connectionPool, outlierDetection, tls, localityLb, consistentHash, warmup, null);
    }

    /**
     * The policy of the cluster of {@code subset} (null: the host's own) for service port {@code port} (0: no port),
     * merged as istiod's {@code mergeTrafficPolicy}: the rule's policy; over it the rule's port-level settings of that
     * port, which replace load balancer, connection pool, outlier detection and TLS all four (a field they leave out
     * is the default, not inherited); over that each of the four the subset sets; over that the subset's own
     * port-level settings of that port, again all four; the PROXY protocol is the subset's when set, else the rule's
     * (port-level settings have none). The result has no subsets or port-level settings; its
     * locality setting is the rule's (Keelson keeps locality load balancing per host).
     */
    public DestinationRule forCluster(String subset, int port) {
      String simple = lb;
      ConsistentHash hash = consistentHash;
      Warmup w = warmup;
      ConnectionPool cp = connectionPool;
      OutlierDetection od = outlierDetection;
      ClientTls t = tls;
      int pp = proxyProtocol;
      PortPolicy p = PortPolicy.of(ports, port);
      if (p != null) {
        simple = p.balancing().simple();
        hash = p.balancing().hash();
        w = p.balancing().warmup();
        cp = p.connectionPool();
        od = p.outlierDetection();
        t = p.tls();
      }
      for (Subset s : subsets) {
        if (!s.name().equals(subset)) {
          continue;
        }
        if (s.lb() != null || s.consistentHash() != null || s.warmup() != null) {
          simple = s.lb();
          hash = s.consistentHash();
          w = s.warmup();
        }
        cp = s.connectionPool() != null ? s.connectionPool() : cp;
        od = s.outlierDetection() != null ? s.outlierDetection() : od;
        t = s.tls() != null ? s.tls() : t;
        pp = s.proxyProtocol() != 0 ? s.proxyProtocol() : pp;
        PortPolicy sp = PortPolicy.of(s.ports(), port);
        if (sp != null) {
          simple = sp.balancing().simple();
          hash = sp.balancing().hash();
          w = sp.balancing().warmup();
          cp = sp.connectionPool();
          od = sp.outlierDetection();
          t = sp.tls();
        }
      }
      return new DestinationRule(meta, host, simple, List.of(), cp, od, t, localityLb, hash, w, null, pp);
    }

    /** Without consistent hashing or slow start. */
    public DestinationRule(Meta meta, String host, String lb, List<Subset> subsets, ConnectionPool connectionPool,
        OutlierDetection outlierDetection, ClientTls tls, LocalityLbSetting localityLb) {
      this(meta, host, lb, subsets, connectionPool, outlierDetection, tls, localityLb, null, null);
    }

    /**
     * The load balancing of the subset named {@code subset} (null: the rule's own clusters): a subset that sets a
     * {@code loadBalancer} replaces the rule's, as Istio merges subset traffic policies.
     */
    public Balancing balancing(String subset) {
      for (Subset s : subsets) {
        if (s.name().equals(subset) && (s.lb() != null || s.consistentHash() != null || s.warmup() != null)) {
          return new Balancing(s.lb(), s.consistentHash(), s.warmup());
        }
      }
      return new Balancing(lb, consistentHash, warmup);
    }

    /** Without a locality load balancer setting (the mesh's applies). */
    public DestinationRule(Meta meta, String host, String lb, List<Subset> subsets, ConnectionPool connectionPool,
        OutlierDetection outlierDetection, ClientTls tls) {
      this(meta, host, lb, subsets, connectionPool, outlierDetection, tls, null);
    }

    /** Without TLS origination. */
    public DestinationRule(Meta meta, String host, String lb, List<Subset> subsets, ConnectionPool connectionPool,
        OutlierDetection outlierDetection) {
      this(meta, host, lb, subsets, connectionPool, outlierDetection, null);
    }

    /** Without connection pool limits or outlier detection. */
    public DestinationRule(Meta meta, String host, String lb, List<Subset> subsets) {
      this(meta, host, lb, subsets, null, null);
    }
  }

  /**
   * Istio {@code trafficPolicy.tls} (ClientTLSSettings): {@code simple} true for modes SIMPLE and MUTUAL (the sidecar
   * originates TLS), false for DISABLE. {@code caCertificates}: a PEM file the proxy reads, or null for the system roots
   * (or no verification with {@code insecureSkipVerify}); {@code sni} null: the host; {@code subjectAltNames} empty: the
   * SNI. {@code clientCertificate} and {@code privateKey}: PEM files the proxy reads, both set for MUTUAL (the proxy
   * presents that certificate), both null otherwise. {@code credential}: instead of files, a Secret of the proxy's
   * namespace delivered over SDS ({@code credentialName}), or null. {@code istioMutual}: mode ISTIO_MUTUAL (mesh mTLS
   * with the sidecar's own certificate to every endpoint; {@code simple} false, only {@code sni} and
   * {@code subjectAltNames}).
   */
  record ClientTls(boolean simple, String sni, String caCertificates, List<String> subjectAltNames,
      boolean insecureSkipVerify, String clientCertificate, String privateKey, Credential credential,
      boolean istioMutual) {
    /** Mode ISTIO_MUTUAL. */
    public static final ClientTls ISTIO_MUTUAL =
        new ClientTls(false, null, null, List.of(), false, null, null, null, true);

    /**
     * Mode ISTIO_MUTUAL with the rule's {@code sni} (null: none) and {@code subjectAltNames} (SPIFFE IDs; empty: the
     * destination's service accounts), as istiod's {@code buildUpstreamTLSSettings} takes them.
     */
    public static ClientTls istioMutual(String sni, List<String> subjectAltNames) {
      return new ClientTls(false, sni, null, subjectAltNames, false, null, null, null, true);
    }

    /** The SPIFFE IDs an ISTIO_MUTUAL destination may present: the rule's {@code subjectAltNames}, else {@code accounts}. */
    public java.util.Collection<String> istioMutualSans(java.util.Collection<String> accounts) {
      return subjectAltNames.isEmpty() ? accounts : subjectAltNames;
    }

    public ClientTls {
      subjectAltNames = List.copyOf(subjectAltNames);
      if ((clientCertificate == null) != (privateKey == null) || (clientCertificate != null && !simple)) {
        throw new IllegalArgumentException("a client certificate needs its private key and TLS origination");
      }
      if (credential != null && (!simple || clientCertificate != null || caCertificates != null)) {
        throw new IllegalArgumentException("a credentialName replaces the certificate files and needs TLS origination");
      }
      if (istioMutual && (simple || credential != null)) {
        throw new IllegalArgumentException("ISTIO_MUTUAL is not SIMPLE or MUTUAL origination");
      }
    }

    /** SIMPLE, MUTUAL or DISABLE, with a credentialName or not. */
    public ClientTls(boolean simple, String sni, String caCertificates, List<String> subjectAltNames,
        boolean insecureSkipVerify, String clientCertificate, String privateKey, Credential credential) {
      this(simple, sni, caCertificates, subjectAltNames, insecureSkipVerify, clientCertificate, privateKey, credential,
          false);
    }

    /** Certificates from files (or the system roots). */
    public ClientTls(boolean simple, String sni, String caCertificates, List<String> subjectAltNames,
        boolean insecureSkipVerify, String clientCertificate, String privateKey) {
      this(simple, sni, caCertificates, subjectAltNames, insecureSkipVerify, clientCertificate, privateKey, null);
    }

    /** SIMPLE or DISABLE: no client certificate. */
    public ClientTls(boolean simple, String sni, String caCertificates, List<String> subjectAltNames,
        boolean insecureSkipVerify) {
      this(simple, sni, caCertificates, subjectAltNames, insecureSkipVerify, null, null);
    }

    /** Mode MUTUAL: the proxy presents a client certificate. */
    public boolean mutual() {
      return clientCertificate != null || (credential != null && credential.mutual());
    }
  }

  /**
   * A DestinationRule {@code tls.credentialName}: the Secret {@code name} of the namespace of the proxy that originates
   * TLS (Istio's rule), its CA ({@code ca.crt}/{@code cacert}, or the Secret {@code <name>-cacert}) verifying the server
   * and, when {@code mutual} (mode MUTUAL), its certificate and key presented.
   */
  record Credential(String name, boolean mutual) {}

  /**
   * Istio {@code trafficPolicy.connectionPool}, as Envoy circuit breakers, the upstream idle timeout and the
   * upstream HTTP protocol. Null fields keep Envoy's defaults.
   *
   * @param h2Upgrade            {@code http.h2UpgradePolicy}, null when unset (DEFAULT)
   * @param maxConcurrentStreams {@code http.maxConcurrentStreams}: streams per upstream HTTP/2 connection
   * @param connectTimeout       {@code tcp.connectTimeout}: the cluster's connect_timeout, null for the default
   * @param maxConnectionDuration {@code tcp.maxConnectionDuration}: upstream connections' maximum age, null for none
   * @param maxRequestsPerConnection {@code http.maxRequestsPerConnection}: requests per upstream connection, null: no limit
   * @param tcpKeepalive         {@code tcp.tcpKeepalive}: keepalive on upstream sockets, null for none
   */
  record ConnectionPool(Integer maxConnections, Integer maxPendingRequests, Integer maxRequests, Integer maxRetries,
      Duration idleTimeout, H2Upgrade h2Upgrade, Integer maxConcurrentStreams, Duration connectTimeout,
      Duration maxConnectionDuration, Integer maxRequestsPerConnection, TcpKeepalive tcpKeepalive,
      Duration tcpIdleTimeout) {
    /** Without {@code tcp.idleTimeout} (tcp_proxy's idle timeout; null: 1h, Istio's and Envoy's default). */
    public ConnectionPool(Integer maxConnections, Integer maxPendingRequests, Integer maxRequests, Integer maxRetries,
        Duration idleTimeout, H2Upgrade h2Upgrade, Integer maxConcurrentStreams, Duration connectTimeout,
        Duration maxConnectionDuration, Integer maxRequestsPerConnection, TcpKeepalive tcpKeepalive) {
      this(maxConnections, maxPendingRequests, maxRequests, maxRetries, idleTimeout, h2Upgrade, maxConcurrentStreams,
          connectTimeout, maxConnectionDuration, maxRequestsPerConnection, tcpKeepalive, null);
    }

    /** Without TCP timeouts, keepalive or a per-connection request limit. */
    public ConnectionPool(Integer maxConnections, Integer maxPendingRequests, Integer maxRequests, Integer maxRetries,
        Duration idleTimeout, H2Upgrade h2Upgrade, Integer maxConcurrentStreams) {
      this(maxConnections, maxPendingRequests, maxRequests, maxRetries, idleTimeout, h2Upgrade, maxConcurrentStreams,
          null, null, null, null);
    }

    /** Without protocol settings. */
    public ConnectionPool(Integer maxConnections, Integer maxPendingRequests, Integer maxRequests, Integer maxRetries,
        Duration idleTimeout) {
      this(maxConnections, maxPendingRequests, maxRequests, maxRetries, idleTimeout, null, null);
    }
  }

  /**
   * Istio {@code connectionPool.tcp.tcpKeepalive}: SO_KEEPALIVE on upstream sockets; each field null for the kernel's
   * default ({@code probes}, idle {@code time} before the first probe, {@code interval} between probes).
   */
  record TcpKeepalive(Integer probes, Duration time, Duration interval) {}

  /** Istio {@code connectionPool.http.h2UpgradePolicy}: whether an HTTP port's upstream hop is HTTP/2. */
  enum H2Upgrade {
    DEFAULT, DO_NOT_UPGRADE, UPGRADE
  }

  /**
   * Istio {@code trafficPolicy.loadBalancer.localityLbSetting} (LocalityLoadBalancerSetting).
   *
   * @param enabled          false turns locality load balancing off for the destination; null: not said (on)
   * @param distribute       {@code from} locality rule to {@code to} locality rules and their weights (summing to 100)
   * @param failover         region to region failover pairs
   * @param failoverPriority labels whose values, matched against the calling proxy's, order the priorities
   */
  record LocalityLbSetting(Boolean enabled, List<Distribute> distribute, List<Failover> failover,
      List<String> failoverPriority) {
    /** What the mesh default is: on, Istio's default failover. */
    public static final LocalityLbSetting MESH_DEFAULT = new LocalityLbSetting(true, List.of(), List.of(), List.of());

    public LocalityLbSetting {
      distribute = List.copyOf(distribute);
      failover = List.copyOf(failover);
      failoverPriority = List.copyOf(failoverPriority);
    }

    public boolean disabled() {
      return enabled != null && !enabled;
    }

    /** One {@code distribute} entry: {@code to} in the order written. */
    public record Distribute(String from, Map<String, Integer> to) {
      public Distribute {
        to = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(to));
      }
    }

    public record Failover(String from, String to) {}
  }

  /**
   * Istio {@code trafficPolicy.outlierDetection}. Null fields keep Envoy's defaults. {@code splitExternalLocalOriginErrors}
   * (null: false): failures without a response count apart, as local-origin failures, ejecting after
   * {@code consecutiveLocalOriginFailures} (null: Envoy's 5) in a row.
   */
  record OutlierDetection(Integer consecutive5xxErrors, Integer consecutiveGatewayErrors, Duration interval,
      Duration baseEjectionTime, Integer maxEjectionPercent, Boolean splitExternalLocalOriginErrors,
      Integer consecutiveLocalOriginFailures) {
    /** Local-origin errors not split. */
    public OutlierDetection(Integer consecutive5xxErrors, Integer consecutiveGatewayErrors, Duration interval,
        Duration baseEjectionTime, Integer maxEjectionPercent) {
      this(consecutive5xxErrors, consecutiveGatewayErrors, interval, baseEjectionTime, maxEjectionPercent, null, null);
    }
  }

  /**
   * Retries of a rule (Istio {@code retries}, Gateway API {@code retry} and {@code timeouts.backendRequest}).
   *
   * @param retryOn       Envoy retry_on conditions
   * @param statusCodes   retriable status codes (with retry_on retriable-status-codes)
   * @param perTryTimeout null for none
   * @param backoff       base interval, null for Envoy's default
   */
  record Retry(int attempts, List<String> retryOn, List<Integer> statusCodes, Duration perTryTimeout, Duration backoff) {}

  /**
   * A DestinationRule subset; {@code lb} and {@code consistentHash} null when its trafficPolicy sets no loadBalancer,
   * {@code connectionPool}, {@code outlierDetection} and {@code tls} null when it does not set them (the rule's apply),
   * {@code ports} its trafficPolicy's {@code portLevelSettings}.
   */
  record Subset(String name, Map<String, String> labels, String lb, ConsistentHash consistentHash, Warmup warmup,
      ConnectionPool connectionPool, OutlierDetection outlierDetection, ClientTls tls, List<PortPolicy> ports,
      int proxyProtocol) {
    public Subset {
      ports = ports == null ? List.of() : List.copyOf(ports);
    }

    /** Without the PROXY protocol. */
    public Subset(String name, Map<String, String> labels, String lb, ConsistentHash consistentHash, Warmup warmup,
        ConnectionPool connectionPool, OutlierDetection outlierDetection, ClientTls tls, List<PortPolicy> ports) {
      this(name, labels, lb, consistentHash, warmup, connectionPool, outlierDetection, tls, ports, 0);
    }

    /** Only load balancing. */
    public Subset(String name, Map<String, String> labels, String lb, ConsistentHash consistentHash, Warmup warmup) {
      this(name, labels, lb, consistentHash, warmup, null, null, null, null);
    }

    public Subset(String name, Map<String, String> labels, String lb) {
      this(name, labels, lb, null, null);
    }
  }

  /**
   * One of a traffic policy's {@code portLevelSettings} (Istio's PortTrafficPolicy): the policy of the clusters of service
   * port {@code port}. Its fields do not inherit from the policy around it (istiod): null is the default.
   */
  record PortPolicy(int port, Balancing balancing, ConnectionPool connectionPool, OutlierDetection outlierDetection,
      ClientTls tls) {
    public PortPolicy {
      balancing = balancing == null ? Balancing.DEFAULT : balancing;
    }

    /** The entry of {@code port} in {@code ports}, or null (also for port 0). */
    static PortPolicy of(List<PortPolicy> ports, int port) {
      for (PortPolicy p : ports) {
        if (port != 0 && p.port() == port) {
          return p;
        }
      }
      return null;
    }
  }

  /**
   * A cluster's load balancing: a {@code simple} policy (null: the default) or, when not null, consistent hashing;
   * {@code warmup} (null: none) ramps new endpoints up (round robin and least request only).
   */
  record Balancing(String simple, ConsistentHash hash, Warmup warmup) {
    public static final Balancing DEFAULT = new Balancing(null, null, null);
  }

  /**
   * Istio's slow start ({@code warmupDurationSecs}, or {@code warmup}): new endpoints' weight ramps up over
   * {@code duration}; {@code aggression} and {@code minimumPercent} null for Envoy's defaults (1.0 and 10%).
   */
  record Warmup(Duration duration, Double aggression, Double minimumPercent) {}

  /**
   * Istio {@code loadBalancer.consistentHash}: what a request's hash comes from and the hashing algorithm.
   *
   * @param source     HEADER, COOKIE, SOURCE_IP or QUERY_PARAMETER
   * @param name       the header, cookie or query parameter name; null for SOURCE_IP
   * @param cookieTtl  COOKIE: when not null, a missing cookie is generated with this lifetime (zero: a session cookie)
   * @param cookiePath COOKIE: the generated cookie's path, or null
   * @param maglev     Maglev (table {@code size}) instead of a ring hash (minimum ring {@code size})
   * @param size       the Maglev table size or the minimum ring size; null for Envoy's default (Istio's ring: 1024)
   */
  record ConsistentHash(HashSource source, String name, Duration cookieTtl, String cookiePath, boolean maglev,
      Long size) {}

  enum HashSource { HEADER, COOKIE, SOURCE_IP, QUERY_PARAMETER }

  /**
   * Istio {@code VirtualService} or Gateway API {@code HTTPRoute} / {@code GRPCRoute}: ordered rules for the requests
   * addressed to {@code hosts} (service names; extra host names become extra domains).
   */
  /**
   * @param gateways the Istio gateways the rules apply to ({@code namespace/name}, and {@value #MESH} for sidecars);
   *                 empty: sidecars only (Istio's default). {@code services} are then external host names for the
   *                 gateways (wildcards allowed) and, where {@value #MESH} is listed too, service names.
   */
  record Routes(Meta meta, List<String> services, List<String> hostnames, List<Rule> rules, List<StreamRule> streams,
      List<String> gateways) implements Policy {
    public static final String MESH = "mesh";

    public Routes {
      streams = streams == null ? List.of() : List.copyOf(streams);
      gateways = gateways == null ? List.of() : List.copyOf(gateways);
    }

    public Routes(Meta meta, List<String> services, List<String> hostnames, List<Rule> rules, List<StreamRule> streams) {
      this(meta, services, hostnames, rules, streams, List.of());
    }

    /** HTTP rules only. */
    public Routes(Meta meta, List<String> services, List<String> hostnames, List<Rule> rules) {
      this(meta, services, hostnames, rules, List.of());
    }

    /**
     * The host names a gateway serves these rules for: a VirtualService's {@code hosts}; an HTTPRoute's
     * {@code hostnames}, or every name ({@code *}) without.
     */
    public List<String> gatewayHosts() {
      if (kind().equals("VirtualService")) {
        return services;
      }
      return hostnames.isEmpty() ? List.of("*") : hostnames;
    }

    /** True when these rules apply to {@code gateway} ({@code namespace/name}) listener {@code section}. */
    public boolean boundTo(String gateway, String section) {
      return gateways.contains(gateway) || (section != null && gateways.contains(gateway + "/" + section));
    }

    /**
     * True when a parent of these rules names {@code gateway} ({@code namespace/name}) and, where it says, this
     * listener: parents are {@code namespace/name[/[section][:port]]} (a Gateway API parentRef's {@code sectionName}
     * and {@code port}).
     */
    public boolean boundTo(String gateway, String section, int port) {
      return gateways.stream().anyMatch(g -> names(g, gateway, section, port));
    }

    /** True when {@code parent} (an entry of {@link #gateways}) names listener {@code section}/{@code port} of {@code gateway}. */
    public static boolean names(String parent, String gateway, String section, int port) {
      if (parent.equals(gateway)) {
        return true;
      }
      if (!parent.startsWith(gateway + "/")) {
        return false;
      }
      String rest = parent.substring(gateway.length() + 1);
      int colon = rest.indexOf(':');
      String sec = colon < 0 ? rest : rest.substring(0, colon);
      return (sec.isEmpty() || sec.equals(section)) && (colon < 0 || rest.substring(colon + 1).equals(Integer.toString(port)));
    }

    /** True when sidecars get these rules: no gateways named, or {@value #MESH} among them. */
    public boolean forMesh() {
      return gateways.isEmpty() || gateways.contains(MESH);
    }
  }

  /**
   * Istio {@code Gateway} ({@code networking.istio.io}): the gateway proxies whose labels match {@code selector}
   * listen on each server's port and serve the VirtualServices bound to this gateway for the server's hosts.
   */
  record Gateway(Meta meta, Map<String, String> selector, List<Server> servers) implements Policy {
    /** The label of a Gateway API gateway's proxies ({@code NAME}, the Gateway's name), as Istio puts on its pods. */
    public static final String NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

    public Gateway {
      selector = Map.copyOf(selector);
      servers = List.copyOf(servers);
    }

    /** {@code namespace/name}, as VirtualServices' {@code gateways} name it. */
    public String ref() {
      return namespace() + "/" + name();
    }
  }

  /**
   * One server of a Gateway ({@code spec.servers[index]}).
   *
   * @param protocol HTTP, HTTP2, HTTPS, TLS (PASSTHROUGH) or TCP
   * @param hosts    host names as written after any {@code namespace/} prefix: exact, {@code *} or {@code *.suffix}
   * @param tls      null for plaintext servers
   */
  record Server(int index, int port, String portName, String protocol, List<String> hosts, ServerTls tls,
      AllowedRoutes allowedRoutes) {
    public Server {
      hosts = List.copyOf(hosts);
    }

    /** An Istio server: every route bound to its Gateway attaches ({@code allowedRoutes} null). */
    public Server(int index, int port, String portName, String protocol, List<String> hosts, ServerTls tls) {
      this(index, port, portName, protocol, hosts, tls, null);
    }

    /** HTTPS, or a GRPC-WEB server terminating TLS (istiod serves it as HTTPS with the grpc_web filter). */
    public boolean https() {
      return protocol.equals("HTTPS") || grpcWeb() && tls != null && tls.terminates();
    }

    /**
     * A {@code protocol: TLS} server that ends the client's TLS ({@code tls.mode} SIMPLE, MUTUAL or ISTIO_MUTUAL; a
     * Gateway API TLS listener with {@code mode: Terminate}) and relays the plaintext to its {@code tcp} routes, not
     * a PASSTHROUGH one.
     */
    public boolean terminatesTls() {
      return terminatesTls(protocol, tls);
    }

    /** {@link #terminatesTls()} for a server being parsed: its {@code protocol} and {@code tls}, either null. */
    public static boolean terminatesTls(String protocol, ServerTls tls) {
      return "TLS".equals(protocol) && tls != null && tls.terminates();
    }

    /** A GRPC-WEB server: its connection manager runs envoy.filters.http.grpc_web. */
    public boolean grpcWeb() {
      return protocol.equals("GRPC-WEB");
    }

    /** What this server binds its port to: HTTPS when it terminates TLS, else {@link #portProtocol(String)}. */
    public String portProtocol() {
      return https() ? "HTTPS" : portProtocol(protocol);
    }

    /**
     * HTTP, HTTP2 and GRPC-WEB are one thing on a gateway port: plaintext HTTP (h1 or h2c; GRPC-WEB adds the grpc_web
     * filter); other protocols are themselves.
     */
    public static String portProtocol(String protocol) {
      return protocol.equals("HTTP2") || protocol.equals("GRPC-WEB") ? "HTTP" : protocol;
    }

    /**
     * Whether servers binding a port to {@code a} and {@code b} ({@link #portProtocol()}s) may share it: the same, or
     * HTTPS and TLS (istiod's: each server a filter chain chosen by the ClientHello's server name, HTTP connection
     * managers beside tcp_proxy chains).
     */
    public static boolean sharePort(String a, String b) {
      return a.equals(b) || (a.equals("HTTPS") || a.equals("TLS")) && (b.equals("HTTPS") || b.equals("TLS"));
    }
  }

  /**
   * A reference from a Gateway API document to an object in another namespace (a Gateway's {@code certificateRefs}),
   * written at {@code field}: a ReferenceGrant in {@code namespace} must permit
   * it.
   */
  record CrossReference(String field, String group, String kind, String namespace, String name) {}

  /**
   * Gateway API {@code ReferenceGrant} ({@code gateway.networking.k8s.io/v1beta1}): documents of the {@code from}
   * group/kind/namespaces may refer to objects of the {@code to} group/kind (and name, where given) in this grant's
   * namespace.
   */
  record ReferenceGrant(Meta meta, List<GrantFrom> from, List<GrantTo> to) implements Policy {
    public ReferenceGrant {
      from = List.copyOf(from);
      to = List.copyOf(to);
    }

    /** True when this grant lets a {@code fromKind} of {@code fromNamespace} refer to {@code ref}. */
    public boolean permits(String fromKind, String fromNamespace, CrossReference ref) {
      return namespace().equals(ref.namespace())
          && from.stream().anyMatch(f -> f.group().equals("gateway.networking.k8s.io") && f.kind().equals(fromKind)
              && f.namespace().equals(fromNamespace))
          && to.stream().anyMatch(t -> t.group().equals(ref.group()) && t.kind().equals(ref.kind())
              && (t.name() == null || t.name().equals(ref.name())));
    }
  }

  record GrantFrom(String group, String kind, String namespace) {}

  /** @param name null: every object of the kind */
  record GrantTo(String group, String kind, String name) {}

  /**
   * A Gateway API listener's {@code allowedRoutes}: routes from the Gateway's own namespace only ({@code sameNamespace},
   * the spec's default {@code from: Same}), from every namespace ({@code from: All}) or from the namespaces whose
   * {@link Namespace} labels {@code namespaceSelector} matches ({@code from: Selector}: {@code matchLabels} and
   * {@code matchExpressions}), of the route {@code kinds}
   * (the listener protocol's kinds when not written: HTTPRoute and GRPCRoute on HTTP/HTTPS, TLSRoute on TLS,
   * TCPRoute on TCP).
   */
  record AllowedRoutes(boolean sameNamespace, List<String> kinds, LabelSelector namespaceSelector) {
    public AllowedRoutes {
      kinds = List.copyOf(kinds);
    }

    /** {@code from: Same} or {@code All} (no namespace selector). */
    public AllowedRoutes(boolean sameNamespace, List<String> kinds) {
      this(sameNamespace, kinds, null);
    }
  }

  /**
   * A Kubernetes {@code v1 Namespace}: only its {@code metadata.labels}, which a Gateway API listener's
   * {@code allowedRoutes.namespaces.from: Selector} matches. Keelson keeps no other namespace state: a namespace
   * exists whether or not a Namespace document names it; one without a document has no labels.
   */
  record Namespace(Meta meta, Map<String, String> labels) implements Policy {
    public Namespace {
      labels = Map.copyOf(labels);
    }
  }

  /**
   * A server's {@code tls}: {@code httpsRedirect} (on a plaintext server: 301 to https), {@code mode} PASSTHROUGH (a
   * TLS server), or termination with {@code mode} SIMPLE or MUTUAL and the Secret {@code credentialName} (its {@code ca.crt} verifies clients for
   * MUTUAL); {@code minProtocolVersion} TLSV1_2 or TLSV1_3, null for the default.
   */
  record ServerTls(boolean httpsRedirect, String mode, String credentialName, String minProtocolVersion) {
    /** {@code mode: PASSTHROUGH}: the client's TLS goes through to the backend, chosen by SNI. */
    public boolean passthrough() {
      return "PASSTHROUGH".equals(mode);
    }

    /** A mode that ends the client's TLS here (SIMPLE, MUTUAL, ISTIO_MUTUAL): set and not PASSTHROUGH. */
    public boolean terminates() {
      return mode != null && !passthrough();
    }

    /** {@code mode: ISTIO_MUTUAL}: the gateway's own mesh certificate, a mesh client certificate required. */
    public boolean istioMutual() {
      return "ISTIO_MUTUAL".equals(mode);
    }
  }

  /**
   * A Kubernetes {@code v1 Secret} of type {@code kubernetes.io/tls} (a gateway's certificate) or {@code Opaque}: PEM
   * text decoded from {@code data}; {@code caCert} null when it has no {@code ca.crt} (or Istio's {@code cacert});
   * {@code certChain} and {@code privateKey} both null in a CA-only Secret (a DestinationRule credential's CA). Never
   * shown back in full ({@link #redacted()}).
   */
  record Secret(Meta meta, String certChain, String privateKey, String caCert) implements Policy {
    /** The document as applied, with every {@code data} value replaced by a note of its length. */
    public String redacted() {
      StringBuilder b = new StringBuilder();
      b.append("apiVersion: v1\nkind: Secret\nmetadata:\n  name: ").append(name()).append("\n  namespace: ")
          .append(namespace()).append("\ntype: kubernetes.io/tls\ndata:\n");
      if (certChain != null) {
        b.append("  tls.crt: '<redacted: ").append(certChain.length()).append(" bytes of PEM>'\n");
        b.append("  tls.key: '<redacted>'\n");
      }
      if (caCert != null) {
        b.append("  ca.crt: '<redacted: ").append(caCert.length()).append(" bytes of PEM>'\n");
      }
      return b.toString();
    }

    @Override
    public String toString() {
      return "Secret[" + meta.key() + "]"; // never the key
    }
  }

  /**
   * A rule for connections rather than requests: Istio VirtualService {@code tcp[]} / {@code tls[]}, Gateway API
   * {@code TCPRoute} / {@code TLSRoute}. It applies to connections to the service's {@code port} (null: any port
   * of the right protocol) and, for TLS, whose SNI is one of {@code sniHosts}; they go to {@code backends} by weight.
   *
   * @param protocol TCP or TLS
   * @param field    where the rule is written (for error paths), e.g. {@code spec.tcp[0]}
   * @param scopes   per Istio match, where it applies ({@code gateways}, {@code sourceLabels}, {@code sourceNamespace};
   *                 {@link MatchScope#ANY} for a match without them); empty: everywhere. The rule applies where any does.
   * @param destinationSubnets Istio's {@code destinationSubnets} ({@code a.b.c.d[/n]}, IPv6 too): only connections to
   *                 these addresses (a captured sidecar's chain {@code prefix_ranges}); empty: any address
   */
  record StreamRule(Protocol protocol, Integer port, List<String> sniHosts, List<Backend> backends, String field,
      List<MatchScope> scopes, List<String> destinationSubnets) {
    public StreamRule {
      sniHosts = List.copyOf(sniHosts);
      backends = List.copyOf(backends);
      scopes = scopes == null ? List.of() : List.copyOf(scopes);
      destinationSubnets = destinationSubnets == null ? List.of() : List.copyOf(destinationSubnets);
    }

    /** For connections to any address. */
    public StreamRule(Protocol protocol, Integer port, List<String> sniHosts, List<Backend> backends, String field,
        List<MatchScope> scopes) {
      this(protocol, port, sniHosts, backends, field, scopes, List.of());
    }

    public StreamRule(Protocol protocol, Integer port, List<String> sniHosts, List<Backend> backends, String field) {
      this(protocol, port, sniHosts, backends, field, List.of());
    }

    /**
     * True when the rule applies on {@code gateway} ({@code namespace/name}, or {@value Routes#MESH} for sidecars): a
     * match admits it, and none of those still depends on the caller's workload (a state not resolved for one).
     */
    public boolean appliesOn(String gateway) {
      return scopes.isEmpty() || scopes.stream().anyMatch(s -> s.admitsGateway(gateway) && !s.bySource());
    }

    /** True when a match depends on the calling proxy's workload. */
    public boolean bySource() {
      return scopes.stream().anyMatch(MatchScope::bySource);
    }
  }

  /**
   * One rule: any of {@code matches} (empty = everything) selects it; then forward, redirect or answer directly. With
   * {@code delegate} (Istio's, the name of a VirtualService without hosts) it has no backends, redirect or direct
   * response: the delegate's rules serve its requests, each under the conjunction of both matches and inheriting this
   * rule's options where it sets none ({@code Delegation}).
   */
  record Rule(String name, List<Match> matches, List<Backend> backends, Redirect redirect, Rewrite rewrite,
      HeaderOps requestHeaders, HeaderOps responseHeaders, Duration timeout, Retry retry, List<Mirror> mirrors,
      Fault fault, Cors cors, DirectResponse directResponse, String delegate) {
    public Rule {
      mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
    }

    /** Not delegating. */
    public Rule(String name, List<Match> matches, List<Backend> backends, Redirect redirect, Rewrite rewrite,
        HeaderOps requestHeaders, HeaderOps responseHeaders, Duration timeout, Retry retry, List<Mirror> mirrors,
        Fault fault, Cors cors, DirectResponse directResponse) {
      this(name, matches, backends, redirect, rewrite, requestHeaders, responseHeaders, timeout, retry, mirrors, fault,
          cors, directResponse, null);
    }

    /** Without a direct response. */
    public Rule(String name, List<Match> matches, List<Backend> backends, Redirect redirect, Rewrite rewrite,
        HeaderOps requestHeaders, HeaderOps responseHeaders, Duration timeout, Retry retry, List<Mirror> mirrors,
        Fault fault, Cors cors) {
      this(name, matches, backends, redirect, rewrite, requestHeaders, responseHeaders, timeout, retry, mirrors, fault, cors,
          null);
    }

    /** Without a CORS policy. */
    public Rule(String name, List<Match> matches, List<Backend> backends, Redirect redirect, Rewrite rewrite,
        HeaderOps requestHeaders, HeaderOps responseHeaders, Duration timeout, Retry retry, List<Mirror> mirrors,
        Fault fault) {
      this(name, matches, backends, redirect, rewrite, requestHeaders, responseHeaders, timeout, retry, mirrors, fault, null);
    }
  }

  /**
   * Istio {@code corsPolicy} or the Gateway API {@code CORS} filter: the rule's routes answer preflights
   * from allowed origins and add the CORS headers to their responses (Envoy's cors filter).
   *
   * @param allowOrigins               allowed origins (an exact {@code *} allows any)
   * @param allowMethods               access-control-allow-methods values ({@code *}: the requested method)
   * @param allowHeaders               access-control-allow-headers values ({@code *}: the requested headers)
   * @param exposeHeaders              access-control-expose-headers values
   * @param maxAge                     access-control-max-age, or null for none
   * @param allowCredentials           access-control-allow-credentials: true when set, null when unset
   * @param forwardUnmatchedPreflights preflights from other origins go to the app (true), are answered
   *                                   without CORS headers (false), or null for Envoy's default (forwarded)
   */
  record Cors(List<StringMatch> allowOrigins, List<String> allowMethods, List<String> allowHeaders, List<String> exposeHeaders,
      Duration maxAge, Boolean allowCredentials, Boolean forwardUnmatchedPreflights) {
    public Cors {
      allowOrigins = List.copyOf(allowOrigins);
      allowMethods = List.copyOf(allowMethods);
      allowHeaders = List.copyOf(allowHeaders);
      exposeHeaders = List.copyOf(exposeHeaders);
    }
  }

  /**
   * Istio {@code fault}: a delay and/or an abort, each for a share of the rule's requests (in a million).
   *
   * @param delay           the fixed delay, or null for none
   * @param delayPerMillion requests in a million that are delayed
   * @param httpStatus      abort with this HTTP status, or 0
   * @param grpcStatus      abort with this gRPC status code, or -1
   * @param abortPerMillion requests in a million that are aborted
   */
  record Fault(Duration delay, int delayPerMillion, int httpStatus, int grpcStatus, int abortPerMillion) {
    public boolean hasAbort() {
      return httpStatus > 0 || grpcStatus >= 0;
    }
  }

  /**
   * A copy of the rule's requests sent to {@code backend} (its weight unused), fire and forget:
   * Gateway API RequestMirror, Istio mirror. perMillion: how many requests in a million are mirrored.
   */
  record Mirror(Backend backend, int perMillion, String field, boolean percentageWritten) {
    /**
     * field: where the rule names it, for error paths (Istio {@code mirror} or {@code mirrors[i].destination}); null =
     * the default. percentageWritten: the rule set a percentage (a delegate's {@code mirror} without one takes its
     * root's {@code mirrorPercentage}); here, unless it is the default 100%.
     */
    public Mirror(Backend backend, int perMillion, String field) {
      this(backend, perMillion, field, perMillion != 1_000_000);
    }

    public Mirror(Backend backend, int perMillion) {
      this(backend, perMillion, null);
    }
  }

  /**
   * Istio {@code directResponse}: the rule answers with {@code status} and a fixed body, Envoy's route
   * {@code direct_response}. At most one of {@code string} (inline_string) and {@code bytes} (base64 as
   * written, inline_bytes) is set; neither = no body.
   */
  record DirectResponse(int status, String string, String bytes) {}

  /**
   * One match of a rule. grpc: only gRPC requests (content-type application/grpc*) match, Envoy's {@code grpc: {}}
   * route match. {@code headers} may name {@code :method} and {@code :authority} (Istio's method and authority
   * matches). {@code withoutHeaders}: Istio's, each must not match (a null match: the header must be absent).
   * {@code ignoreUriCase}: the path match ignores case. {@code scope}: the proxies and ports it applies in (Istio's
   * {@code gateways}, {@code sourceLabels}, {@code sourceNamespace}, {@code port}).
   */
  record Match(StringMatch path, List<KeyMatch> headers, List<KeyMatch> queryParams, String method, boolean grpc,
      List<KeyMatch> withoutHeaders, boolean ignoreUriCase, MatchScope scope) {
    public Match {
      scope = scope == null ? MatchScope.ANY : scope;
    }

    /** For every proxy ({@link MatchScope#ANY}). */
    public Match(StringMatch path, List<KeyMatch> headers, List<KeyMatch> queryParams, String method, boolean grpc,
        List<KeyMatch> withoutHeaders, boolean ignoreUriCase) {
      this(path, headers, queryParams, method, grpc, withoutHeaders, ignoreUriCase, MatchScope.ANY);
    }

    public Match(StringMatch path, List<KeyMatch> headers, List<KeyMatch> queryParams, String method, boolean grpc) {
      this(path, headers, queryParams, method, grpc, List.of(), false);
    }

    public Match(StringMatch path, List<KeyMatch> headers, List<KeyMatch> queryParams, String method) {
      this(path, headers, queryParams, method, false);
    }
  }

  /**
   * Which proxies an Istio HTTP match applies in, as istiod decides per proxy (the match is left out of the others'
   * routes; a rule whose every match was left out is left out): {@code gateways} (a match's own list, overriding the
   * VirtualService's: {@value Routes#MESH} for sidecars, else {@code namespace/name} of Gateways; empty = the
   * VirtualService's), {@code sourceLabels} (the proxy's workload labels include them all) and {@code sourceNamespace}
   * (the proxy's workload namespace; null = any), and {@code port} (only in the routes of that port: a sidecar's for
   * the service port, a gateway's for the server port; null = any).
   */
  record MatchScope(List<String> gateways, Map<String, String> sourceLabels, String sourceNamespace, Integer port) {
    public static final MatchScope ANY = new MatchScope(List.of(), Map.of(), null, null);

    public MatchScope {
      gateways = List.copyOf(gateways);
      sourceLabels = Map.copyOf(sourceLabels);
    }

    /** True when the match depends on the calling proxy's workload (its labels or namespace). */
    public boolean bySource() {
      return !sourceLabels.isEmpty() || sourceNamespace != null;
    }

    /** True when a proxy with workload {@code labels} in {@code namespace} is one the match applies in. */
    public boolean admitsSource(Map<String, String> labels, String namespace) {
      if (sourceNamespace != null && !sourceNamespace.equals(namespace)) {
        return false;
      }
      return LabelSelector.includes(sourceLabels, labels);
    }

    /** True when the match applies in the routes of port {@code routesPort} (null: routes not of one port). */
    public boolean admitsPort(Integer routesPort) {
      return port == null || routesPort == null || port.equals(routesPort);
    }

    /** True when the match applies on {@code gateway} ({@code namespace/name}, or {@value Routes#MESH} for sidecars). */
    public boolean admitsGateway(String gateway) {
      return gateways.isEmpty() || gateways.contains(gateway);
    }
  }

  enum MatchType { EXACT, PREFIX, REGEX }

  record StringMatch(MatchType type, String value) {}

  record KeyMatch(String name, StringMatch match) {}

  /** port 0 = the service's only (or first) port. */
  record Backend(String service, String subset, int port, int weight) {}

  /**
   * Istio's persistent session of a Service (its label {@code istio.io/persistent-session: NAME[:PATH]}, a cookie, or
   * {@code istio.io/persistent-session-header: NAME}): callers stick to one endpoint by Envoy's stateful session.
   *
   * @param cookie the cookie's name, or null for a header session
   * @param path   the cookie's path ({@code /} when the label gives none)
   * @param header the header's name (lower case), or null for a cookie session
   */
  record PersistentSession(String cookie, String path, String header) {}

  record Redirect(String scheme, String host, Integer port, String path, String prefix, int code) {}

  /**
   * prefix replaces the matched path prefix; host replaces the authority; regex and substitution (Envoy's
   * regex_rewrite: RE2, {@code \1}-style groups) replace every match in the path. Any may be null; prefix
   * and regex are never both set.
   */
  record Rewrite(String prefix, String host, String regex, String substitution) {
    /** A prefix and/or host rewrite. */
    public Rewrite(String prefix, String host) {
      this(prefix, host, null, null);
    }
  }

  record HeaderOps(Map<String, String> set, Map<String, String> add, List<String> remove) {
    public static final HeaderOps NONE = new HeaderOps(Map.of(), Map.of(), List.of());

    public boolean isEmpty() {
      return set.isEmpty() && add.isEmpty() && remove.isEmpty();
    }
  }

  /**
   * Istio {@code security.istio.io/v1 AuthorizationPolicy}. {@code selector} null = every workload of
   * {@code namespace} (of the mesh, in the root namespace). {@code provider} is the extension provider of a CUSTOM
   * policy ({@code spec.provider.name}), null for ALLOW and DENY.
   */
  record AuthorizationPolicy(Meta meta, String namespace, Map<String, String> selector, Authz.Action action,
      List<Authz.Rule> rules, String provider) implements Policy {
    public AuthorizationPolicy(Meta meta, String namespace, Map<String, String> selector, Authz.Action action,
        List<Authz.Rule> rules) {
      this(meta, namespace, selector, action, rules, null);
    }
  }

  /**
   * Istio {@code security.istio.io/v1 PeerAuthentication}: the mTLS mode of the selected workloads
   * ({@code selector} null = the namespace, or the mesh in the root namespace), per port where given.
   */
  record PeerAuthentication(Meta meta, String namespace, Map<String, String> selector, Authz.MtlsMode mode,
      Map<Integer, Authz.MtlsMode> portLevel) implements Policy {}

  /**
   * Istio {@code security.istio.io/v1 RequestAuthentication}: the JWT issuers the selected workloads
   * accept ({@code selector} null = the namespace, or the mesh in the root namespace). A request with
   * an invalid token is refused (401); one without a token passes unless an AuthorizationPolicy
   * requires a request principal.
   */
  record RequestAuthentication(Meta meta, String namespace, Map<String, String> selector, List<Authz.JwtRule> jwtRules)
      implements Policy {}

  /**
   * Istio {@code telemetry.istio.io/v1 Telemetry}: access logging and tracing of the selected workloads
   * ({@code selector} null = the namespace, or the mesh in the root namespace), or of the Gateway API Gateways of its
   * namespace named in {@code targetGateways} (its {@code targetRefs}; empty: none): the proxies those Gateways'
   * selectors match ({@code gateway.networking.k8s.io/gateway-name: NAME}), whatever their own namespace. Each list
   * entry applies to the
   * listeners of its {@link TelemetryMode}; null fields inherit from the level above
   * (mesh defaults, root namespace, namespace, workload).
   */
  record Telemetry(Meta meta, String namespace, Map<String, String> selector, List<AccessLogging> accessLogging,
      List<Tracing> tracing, List<String> targetGateways, List<MetricOverride> metrics) implements Policy {
    public Telemetry {
      accessLogging = List.copyOf(accessLogging);
      tracing = List.copyOf(tracing);
      targetGateways = List.copyOf(targetGateways);
      metrics = List.copyOf(metrics);
    }
  }

  /**
   * Istio {@code networking.istio.io/v1 Sidecar}: which outbound services the selected sidecars get. {@code selector}
   * null = every sidecar of the namespace, or of the mesh in the root namespace. Precedence: a selector's Sidecar, then
   * the namespace's, then the root namespace's.
   *
   * @param egressHosts   every {@code egress[].hosts} entry, in order
   * @param outboundMode  {@code outboundTrafficPolicy.mode} (ALLOW_ANY or REGISTRY_ONLY), or null: the mesh's
   * @param ingress       every {@code ingress[]} entry, in order
   */
  record Sidecar(Meta meta, String namespace, Map<String, String> selector, List<EgressHost> egressHosts,
      String outboundMode, List<SidecarIngress> ingress) implements Policy {
    public Sidecar {
      selector = selector == null ? null : Map.copyOf(selector);
      egressHosts = List.copyOf(egressHosts);
      ingress = List.copyOf(ingress);
    }

    /** The first {@code ingress[]} entry for {@code port}, or null. */
    public SidecarIngress ingressFor(int port) {
      return ingress.stream().filter(i -> i.port() == port).findFirst().orElse(null);
    }

    /**
     * True when a host of namespace {@code hostNamespace} known by any of {@code names} is admitted by one of the
     * egress hosts.
     */
    public boolean admits(String hostNamespace, List<String> names) {
      for (EgressHost h : egressHosts) {
        if (h.admits(namespace, hostNamespace, names)) {
          return true;
        }
      }
      return false;
    }

    /**
     * Which of {@code ports} a host of namespace {@code hostNamespace} known by {@code names} is admitted on: all of
     * them when an egress entry without a port admits it, else those of the admitting entries' ports; empty: none.
     */
    public List<Integer> admittedPorts(String hostNamespace, List<String> names, List<Integer> ports) {
      java.util.Set<Integer> out = new java.util.TreeSet<>();
      for (EgressHost h : egressHosts) {
        if (h.admits(namespace, hostNamespace, names)) {
          if (h.port() == null) {
            return ports;
          }
          if (ports.contains(h.port())) {
            out.add(h.port());
          }
        }
      }
      return ports.stream().filter(out::contains).toList();
    }
  }

  /**
   * One {@code egress[].hosts} entry, {@code namespace/dnsName}: namespace {@code *} (any), {@code .} (the Sidecar's
   * own), {@code ~} (none) or a name; dnsName {@code *}, {@code *.suffix} or an exact name.
   *
   * @param port its egress entry's {@code port.number}: the host is admitted on that port only; null: on all its ports
   */
  /**
   * One {@code ingress[]} entry: traffic a captured sidecar accepts on {@code port} goes to its {@code defaultEndpoint}
   * ({@code 127.0.0.1:PORT}, Istio's way to keep a loopback-only app reachable, or {@code 0.0.0.0:PORT}: the pod address).
   *
   * @param endpointHost {@code 127.0.0.1} or {@code 0.0.0.0}
   */
  record SidecarIngress(int port, String endpointHost, int endpointPort) {
    /** True for {@code 127.0.0.1:PORT}: the app on loopback, reached without the 127.0.0.6 source address. */
    public boolean loopback() {
      return endpointHost.equals("127.0.0.1");
    }
  }

  record EgressHost(String namespace, String dnsName, Integer port) {
    public EgressHost(String namespace, String dnsName) {
      this(namespace, dnsName, null);
    }

    /** Whether this entry, in a Sidecar of {@code sidecarNamespace}, admits a host of {@code hostNamespace}. */
    public boolean admits(String sidecarNamespace, String hostNamespace, List<String> names) {
      boolean ns = switch (namespace) {
        case "*" -> true;
        case "~" -> false;
        case "." -> sidecarNamespace.equals(hostNamespace);
        default -> namespace.equals(hostNamespace);
      };
      if (!ns) {
        return false;
      }
      if (dnsName.equals("*")) {
        return true;
      }
      for (String n : names) {
        String name = n.toLowerCase(java.util.Locale.ROOT);
        if (dnsName.startsWith("*.") ? name.endsWith(dnsName.substring(1)) : name.equals(dnsName)) {
          return true;
        }
      }
      return false;
    }

    @Override
    public String toString() {
      return namespace + "/" + dnsName + (port == null ? "" : " (port " + port + ")");
    }
  }

  /** Which of a sidecar's listeners a Telemetry entry applies to: CLIENT = outbound, SERVER = inbound. */
  enum TelemetryMode {
    CLIENT_AND_SERVER, CLIENT, SERVER;

    public boolean client() {
      return this != SERVER;
    }

    public boolean server() {
      return this != CLIENT;
    }
  }

  /**
   * One {@code accessLogging[]} entry.
   *
   * @param providers provider names; empty = the default ({@code envoy})
   * @param disabled  true: no access log; null: inherited
   * @param filter    {@code filter.expression}: the CEL expression a request must satisfy to be logged; null: none
   */
  record AccessLogging(List<String> providers, Boolean disabled, TelemetryMode mode, String filter) {
    public AccessLogging {
      providers = List.copyOf(providers);
    }

    /** An entry without a {@code filter}. */
    public AccessLogging(List<String> providers, Boolean disabled, TelemetryMode mode) {
      this(providers, disabled, mode, null);
    }
  }

  /**
   * One {@code metrics[].overrides[]} entry (provider prometheus).
   *
   * @param metric   Istio's metric selector name ({@code ALL_METRICS}, {@code REQUEST_COUNT}, ...)
   * @param mode     which listeners it reaches
   * @param disabled true: the metric is not reported; null: inherited
   * @param tags     {@code tagOverrides}: tag to its value expression, or null for {@code REMOVE}; in order
   */
  record MetricOverride(String metric, TelemetryMode mode, Boolean disabled, Map<String, String> tags) {
    public MetricOverride {
      tags = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(tags));
    }

    /** Istio's metric selector names to the istio.stats (PluginConfig) names they reach. */
    public static final Map<String, List<String>> PLUGIN_NAMES = metricNames();

    private static Map<String, List<String>> metricNames() {
      Map<String, List<String>> m = new java.util.LinkedHashMap<>();
      m.put("REQUEST_COUNT", List.of("requests_total"));
      m.put("REQUEST_DURATION", List.of("request_duration_milliseconds"));
      m.put("REQUEST_SIZE", List.of("request_bytes"));
      m.put("RESPONSE_SIZE", List.of("response_bytes"));
      m.put("TCP_OPENED_CONNECTIONS", List.of("tcp_connections_opened_total"));
      m.put("TCP_CLOSED_CONNECTIONS", List.of("tcp_connections_closed_total"));
      m.put("TCP_SENT_BYTES", List.of("tcp_sent_bytes_total"));
      m.put("TCP_RECEIVED_BYTES", List.of("tcp_received_bytes_total"));
      m.put("GRPC_REQUEST_MESSAGES", List.of("request_messages_total"));
      m.put("GRPC_RESPONSE_MESSAGES", List.of("response_messages_total"));
      m.put("ALL_METRICS", m.values().stream().flatMap(List::stream).toList());
      return java.util.Collections.unmodifiableMap(m);
    }
  }

  /**
   * One {@code tracing[]} entry.
   *
   * @param providers            provider names; empty = inherited (the mesh's default tracing provider)
   * @param samplingPercent      randomSamplingPercentage (0-100), or null: inherited
   * @param disableSpanReporting true: spans are not reported (context still propagates); null: inherited
   */
  record Tracing(List<String> providers, Double samplingPercent, Boolean disableSpanReporting, TelemetryMode mode) {
    public Tracing {
      providers = List.copyOf(providers);
    }
  }

  /**
   * Istio's {@code EnvoyFilter} (networking.istio.io/v1alpha3): patches applied to the resources translated for the
   * proxies it selects ({@code xds/EnvoyFilterPatches}). Every patch's value is already converted to its target proto
   * and checked against what Keelson's data plane runs.
   *
   * @param namespace its namespace; the root namespace's apply to every namespace
   * @param selector  workloadSelector.labels, empty: every proxy of its namespace (of the mesh from the root namespace)
   * @param priority  spec.priority (lower first; istiod's default 0)
   */
  record EnvoyFilter(Meta meta, String namespace, Map<String, String> selector, int priority,
      List<EnvoyFilterPatch> patches) implements Policy {
    public EnvoyFilter {
      selector = Map.copyOf(selector);
      patches = List.copyOf(patches);
    }
  }

  /**
   * One {@code configPatches[]} entry.
   *
   * @param field   where it was written ({@code spec.configPatches[N]}), for messages
   * @param value   the patch value as its target type (HttpFilter, Filter, Cluster, RouteConfiguration, VirtualHost,
   *                Route or Listener), or null for REMOVE
   */
  record EnvoyFilterPatch(String field, EnvoyFilterPatch.ApplyTo applyTo, EnvoyFilterPatch.Context context,
      EnvoyFilterPatch.ListenerMatch listener, EnvoyFilterPatch.RouteMatch route, EnvoyFilterPatch.ClusterMatch cluster,
      EnvoyFilterPatch.Operation operation, com.google.protobuf.Message value) {
    public enum ApplyTo { LISTENER, NETWORK_FILTER, HTTP_FILTER, CLUSTER, ROUTE_CONFIGURATION, VIRTUAL_HOST, HTTP_ROUTE }

    public enum Context { ANY, SIDECAR_INBOUND, SIDECAR_OUTBOUND, GATEWAY }

    public enum Operation { MERGE, ADD, REMOVE, INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST, REPLACE }

    /** Each null/0 field matches anything. */
    public record ListenerMatch(int port, String name, String chainName, String filter, String subFilter) {
      public static final ListenerMatch ANY = new ListenerMatch(0, null, null, null, null);
    }

    /** Each null/0 field matches anything; {@code action} null or ANY matches every route. */
    public record RouteMatch(int port, String name, String vhost, String routeName, String action) {
      public static final RouteMatch ANY = new RouteMatch(0, null, null, null, null);
    }

    /**
     * Each null/0 field matches anything; {@code service} as written (a ServiceEntry host, or a registry Service's
     * {@code NAME} / {@code NAME.NS.svc.cluster.local}); {@code port} compared only on per-port (ServiceEntry) clusters.
     */
    public record ClusterMatch(String service, int port, String subset, String name) {
      public static final ClusterMatch ANY = new ClusterMatch(null, 0, null, null);
    }
  }
}
