package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ClientTls;
import java.time.Duration;
import java.util.List;

/**
 * Envoy's Cluster with its load_assignment. Immutable.
 *
 * @param connectTimeout Envoy connect_timeout (default 5 s)
 * @param endpoints      every endpoint of every locality, flattened
 * @param circuitBreakers circuit_breakers thresholds (Envoy's defaults when the cluster sets none)
 * @param outlierDetection outlier_detection, or null when the cluster has none
 * @param idleTimeout     upstream connections idle this long are closed (common_http_protocol_options.idle_timeout,
 *                        Envoy default 1 h; ZERO for never)
 * @param maxConnectionDuration upstream connections are closed after this age once idle (ZERO for no limit)
 * @param http2          HTTP/2 upstream options (explicit_http_config.http2_protocol_options), or null for HTTP/1.1
 * @param healthCheck    the active health check (health_checks[0]), or null for none
 * @param lb             load-balancing options besides lb_policy
 * @param tls            TLS origination (transport_socket envoy.transport_sockets.tls), or null for plaintext
 * @param originalDst    for a {@code type: ORIGINAL_DST} cluster (lb_policy CLUSTER_PROVIDED, no endpoints): its
 *                       options; null for every other cluster
 * @param sourceAddress  upstream_bind_config.source_address (port 0): every upstream connection of the cluster (requests,
 *                       tcp_proxy, health checks) binds this local address before it connects; null for the kernel's choice
 * @param maxRequestsPerConnection common_http_protocol_options.max_requests_per_connection: an upstream connection
 *                       carries at most this many requests (HTTP/1.1 exchanges or HTTP/2 streams), then closes once
 *                       idle; 0 for no limit
 * @param tcpKeepalive   upstream_connection_options.tcp_keepalive for every upstream connection, or null for none
 * @param proxyProtocolVersion the {@code envoy.transport_sockets.upstream_proxy_protocol} transport socket's version (1
 *                       or 2): every upstream connection starts with a PROXY protocol header carrying the downstream
 *                       connection's addresses (before TLS, when {@code tls} is set); 0 for none
 * @param transportSocketMatches transport_socket_matches: the transport sockets of endpoints whose metadata matched
 *                       one ({@link EndpointConfig#transportSocket}); {@link #tls(EndpointConfig)} picks an endpoint's
 * @param peerExchangeProtocol the ALPN protocol of the cluster's {@code envoy.filters.network.upstream.metadata_exchange}
 *                    filter (Istio's TCP metadata exchange on its tcp_proxy connections), or null for none
 * @param dns            for a STRICT_DNS or LOGICAL_DNS cluster: how its host names are resolved in the background
 *                       ({@code io.keelson.dataplane.discovery.DnsClusters}; the serving config carries the resolved
 *                       IP addresses as its endpoints); null for every other cluster
 * @param extraSourceAddress upstream_bind_config.extra_source_addresses[0].address (port 0), of the other IP family than
 *                       {@code sourceAddress}: connections to an endpoint of its family bind it instead
 *                       ({@link #sourceAddress(java.net.InetSocketAddress)}); null for none
 */
public record ClusterConfig(
    String name,
    LbPolicy lbPolicy,
    Duration connectTimeout,
    List<EndpointConfig> endpoints,
    CircuitBreakerConfig circuitBreakers,
    OutlierDetectionConfig outlierDetection,
    Duration idleTimeout,
    Duration maxConnectionDuration,
    Http2Options http2,
    HealthCheckConfig healthCheck,
    LbOptions lb,
    ClientTls tls,
    OriginalDstConfig originalDst,
    java.net.InetSocketAddress sourceAddress,
    int maxRequestsPerConnection,
    TcpKeepalive tcpKeepalive,
    int proxyProtocolVersion,
    List<TransportSocketMatch> transportSocketMatches,
    java.net.InetSocketAddress extraSourceAddress,
    String peerExchangeProtocol,
    DnsResolution dns) {

  /** Envoy's default upstream idle timeout. */
  public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofHours(1);

  public ClusterConfig {
    endpoints = List.copyOf(endpoints);
    transportSocketMatches = transportSocketMatches == null ? List.of() : List.copyOf(transportSocketMatches);
    if (circuitBreakers == null) {
      circuitBreakers = CircuitBreakerConfig.DEFAULTS;
    }
    if (idleTimeout == null) {
      idleTimeout = DEFAULT_IDLE_TIMEOUT;
    }
    if (maxConnectionDuration == null) {
      maxConnectionDuration = Duration.ZERO;
    }
    if (lb == null) {
      lb = LbOptions.DEFAULTS;
    }
    if (maxRequestsPerConnection < 0) {
      throw new IllegalArgumentException("maxRequestsPerConnection " + maxRequestsPerConnection + " < 0");
    }
    if (extraSourceAddress != null && (sourceAddress == null
        || isIpv6(extraSourceAddress) == isIpv6(sourceAddress))) {
      throw new IllegalArgumentException("extraSourceAddress " + extraSourceAddress
          + " needs a sourceAddress of the other IP family; sourceAddress " + sourceAddress);
    }
  }

  /** A cluster whose endpoints are not resolved by DNS. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2, HealthCheckConfig healthCheck, LbOptions lb, ClientTls tls,
      OriginalDstConfig originalDst, java.net.InetSocketAddress sourceAddress, int maxRequestsPerConnection,
      TcpKeepalive tcpKeepalive, int proxyProtocolVersion, List<TransportSocketMatch> transportSocketMatches,
      java.net.InetSocketAddress extraSourceAddress, String peerExchangeProtocol) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration,
        http2, healthCheck, lb, tls, originalDst, sourceAddress, maxRequestsPerConnection, tcpKeepalive,
        proxyProtocolVersion, transportSocketMatches, extraSourceAddress, peerExchangeProtocol, null);
  }

  /** This cluster with {@code endpoints} in place of its own (a DNS cluster's resolved addresses). */
  public ClusterConfig withEndpoints(List<EndpointConfig> endpoints) {
    return new ClusterConfig(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout,
        maxConnectionDuration, http2, healthCheck, lb, tls, originalDst, sourceAddress, maxRequestsPerConnection,
        tcpKeepalive, proxyProtocolVersion, transportSocketMatches, extraSourceAddress, peerExchangeProtocol, dns);
  }

  /** A cluster with at most one upstream source address. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2, HealthCheckConfig healthCheck, LbOptions lb, ClientTls tls,
      OriginalDstConfig originalDst, java.net.InetSocketAddress sourceAddress, int maxRequestsPerConnection,
      TcpKeepalive tcpKeepalive, int proxyProtocolVersion, List<TransportSocketMatch> transportSocketMatches) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration,
        http2, healthCheck, lb, tls, originalDst, sourceAddress, maxRequestsPerConnection, tcpKeepalive,
        proxyProtocolVersion, transportSocketMatches, null, null);
  }

  /**
   * The local address a connection to {@code destination} binds first, as Envoy's default local address selector picks
   * it: the extra source address when its IP family is the destination's, else {@link #sourceAddress} (null: the
   * kernel's choice). An unresolved destination gets {@code sourceAddress}.
   */
  public java.net.InetSocketAddress sourceAddress(java.net.InetSocketAddress destination) {
    if (extraSourceAddress != null && destination.getAddress() != null
        && isIpv6(destination) == isIpv6(extraSourceAddress)) {
      return extraSourceAddress;
    }
    return sourceAddress;
  }

  /**
   * What keeps this cluster's pooled upstream connections apart from other clusters' (null: nothing, the kernel picks
   * the source): the source address, or both when there is an extra one. Equal keys bind equal addresses to every
   * endpoint.
   */
  public Object sourceKey() { // a new key per call only for the rare dual-family bind
    return extraSourceAddress == null ? sourceAddress : List.of(sourceAddress, extraSourceAddress);
  }

  private static boolean isIpv6(java.net.InetSocketAddress a) {
    return a.getAddress() instanceof java.net.Inet6Address;
  }

  /** A cluster without transport_socket_matches. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2, HealthCheckConfig healthCheck, LbOptions lb, ClientTls tls,
      OriginalDstConfig originalDst, java.net.InetSocketAddress sourceAddress, int maxRequestsPerConnection,
      TcpKeepalive tcpKeepalive, int proxyProtocolVersion) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration,
        http2, healthCheck, lb, tls, originalDst, sourceAddress, maxRequestsPerConnection, tcpKeepalive,
        proxyProtocolVersion, List.of());
  }

  /** A cluster without TCP keepalive. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2, HealthCheckConfig healthCheck, LbOptions lb, ClientTls tls,
      OriginalDstConfig originalDst, java.net.InetSocketAddress sourceAddress, int maxRequestsPerConnection) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration,
        http2, healthCheck, lb, tls, originalDst, sourceAddress, maxRequestsPerConnection, null, 0);
  }

  /** A cluster without a per-connection request limit. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2, HealthCheckConfig healthCheck, LbOptions lb, ClientTls tls,
      OriginalDstConfig originalDst, java.net.InetSocketAddress sourceAddress) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration,
        http2, healthCheck, lb, tls, originalDst, sourceAddress, 0);
  }

  /** A cluster whose upstream connections bind no source address. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2, HealthCheckConfig healthCheck, LbOptions lb, ClientTls tls,
      OriginalDstConfig originalDst) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration,
        http2, healthCheck, lb, tls, originalDst, null);
  }

  /** A cluster that is not an ORIGINAL_DST one. */
  public ClusterConfig(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints,
      CircuitBreakerConfig circuitBreakers, OutlierDetectionConfig outlierDetection, Duration idleTimeout,
      Duration maxConnectionDuration, Http2Options http2, HealthCheckConfig healthCheck, LbOptions lb, ClientTls tls) {
    this(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout, maxConnectionDuration,
        http2, healthCheck, lb, tls, null, null);
  }

  /**
   * A cluster with Envoy's defaults for everything but its name, policy, connect timeout and endpoints:
   * default circuit breakers, no outlier detection, a 1 h idle timeout, no maximum connection duration,
   * HTTP/1.1, no health check, default balancing options, plaintext.
   */
  public static Builder builder(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints) {
    return new Builder(name, lbPolicy, connectTimeout, endpoints);
  }

  /** A builder that starts from this cluster's values. */
  public Builder toBuilder() {
    return new Builder(name, lbPolicy, connectTimeout, endpoints)
        .circuitBreakers(circuitBreakers)
        .outlierDetection(outlierDetection)
        .idleTimeout(idleTimeout)
        .maxConnectionDuration(maxConnectionDuration)
        .http2(http2)
        .healthCheck(healthCheck)
        .lb(lb)
        .tls(tls)
        .originalDst(originalDst)
        .sourceAddress(sourceAddress)
        .maxRequestsPerConnection(maxRequestsPerConnection)
        .tcpKeepalive(tcpKeepalive)
        .proxyProtocolVersion(proxyProtocolVersion)
        .transportSocketMatches(transportSocketMatches)
        .extraSourceAddress(extraSourceAddress)
        .peerExchangeProtocol(peerExchangeProtocol)
        .dns(dns);
  }

  /**
   * Collects the optional parts of a {@link ClusterConfig}; each setter names its record component.
   * Not thread-safe: build on one thread.
   */
  public static final class Builder {
    private final String name;
    private final LbPolicy lbPolicy;
    private final Duration connectTimeout;
    private List<EndpointConfig> endpoints;
    private CircuitBreakerConfig circuitBreakers = CircuitBreakerConfig.DEFAULTS;
    private OutlierDetectionConfig outlierDetection;
    private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
    private Duration maxConnectionDuration = Duration.ZERO;
    private Http2Options http2;
    private HealthCheckConfig healthCheck;
    private LbOptions lb = LbOptions.DEFAULTS;
    private ClientTls tls;
    private OriginalDstConfig originalDst;
    private java.net.InetSocketAddress sourceAddress;
    private int maxRequestsPerConnection;
    private TcpKeepalive tcpKeepalive;
    private int proxyProtocolVersion;
    private List<TransportSocketMatch> transportSocketMatches = List.of();
    private java.net.InetSocketAddress extraSourceAddress;
    private String peerExchangeProtocol;
    private DnsResolution dns;

    private Builder(String name, LbPolicy lbPolicy, Duration connectTimeout, List<EndpointConfig> endpoints) {
      this.name = name;
      this.lbPolicy = lbPolicy;
      this.connectTimeout = connectTimeout;
      this.endpoints = endpoints;
    }

    public Builder endpoints(List<EndpointConfig> endpoints) {
      this.endpoints = endpoints;
      return this;
    }

    public Builder circuitBreakers(CircuitBreakerConfig circuitBreakers) {
      this.circuitBreakers = circuitBreakers;
      return this;
    }

    public Builder outlierDetection(OutlierDetectionConfig outlierDetection) {
      this.outlierDetection = outlierDetection;
      return this;
    }

    public Builder idleTimeout(Duration idleTimeout) {
      this.idleTimeout = idleTimeout;
      return this;
    }

    public Builder maxConnectionDuration(Duration maxConnectionDuration) {
      this.maxConnectionDuration = maxConnectionDuration;
      return this;
    }

    public Builder http2(Http2Options http2) {
      this.http2 = http2;
      return this;
    }

    public Builder healthCheck(HealthCheckConfig healthCheck) {
      this.healthCheck = healthCheck;
      return this;
    }

    public Builder lb(LbOptions lb) {
      this.lb = lb;
      return this;
    }

    public Builder tls(ClientTls tls) {
      this.tls = tls;
      return this;
    }

    public Builder originalDst(OriginalDstConfig originalDst) {
      this.originalDst = originalDst;
      return this;
    }

    public Builder sourceAddress(java.net.InetSocketAddress sourceAddress) {
      this.sourceAddress = sourceAddress;
      return this;
    }

    public Builder extraSourceAddress(java.net.InetSocketAddress extraSourceAddress) {
      this.extraSourceAddress = extraSourceAddress;
      return this;
    }

    public Builder dns(DnsResolution dns) {
      this.dns = dns;
      return this;
    }

    public Builder peerExchangeProtocol(String protocol) {
      this.peerExchangeProtocol = protocol;
      return this;
    }

    public Builder maxRequestsPerConnection(int maxRequestsPerConnection) {
      this.maxRequestsPerConnection = maxRequestsPerConnection;
      return this;
    }

    public Builder tcpKeepalive(TcpKeepalive tcpKeepalive) {
      this.tcpKeepalive = tcpKeepalive;
      return this;
    }

    public Builder proxyProtocolVersion(int proxyProtocolVersion) {
      this.proxyProtocolVersion = proxyProtocolVersion;
      return this;
    }

    public Builder transportSocketMatches(List<TransportSocketMatch> transportSocketMatches) {
      this.transportSocketMatches = transportSocketMatches;
      return this;
    }

    public ClusterConfig build() {
      return new ClusterConfig(name, lbPolicy, connectTimeout, endpoints, circuitBreakers, outlierDetection, idleTimeout,
          maxConnectionDuration, http2, healthCheck, lb, tls, originalDst, sourceAddress, maxRequestsPerConnection,
          tcpKeepalive, proxyProtocolVersion, transportSocketMatches, extraSourceAddress, peerExchangeProtocol, dns);
    }
  }

  /**
   * The TLS origination of connections to {@code endpoint}: its transport_socket_matches entry's (null for raw_buffer),
   * else the cluster's {@link #tls}.
   */
  public ClientTls tls(EndpointConfig endpoint) {
    int match = endpoint.transportSocket();
    return match < 0 || match >= transportSocketMatches.size() ? tls : transportSocketMatches.get(match).tls();
  }

  /** True for a {@code type: ORIGINAL_DST} cluster: the upstream is the downstream connection's original destination. */
  public boolean isOriginalDst() {
    return originalDst != null;
  }

  /** True when requests go upstream over HTTP/2 (h2c, or h2 when {@link #tls} is set). */
  public boolean http2Upstream() {
    return http2 != null;
  }
}
