package io.keelson.control.sidecar;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.policy.Locality;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The Envoy v3 bootstrap of a sidecar started with {@code bin/keelson proxy --xds ... --service ...}:
 * a static {@code inbound} listener forwarding mesh traffic to the app, a placeholder {@code outbound}
 * listener the control plane replaces over ADS, and the node metadata through which the sidecar
 * registers its workload. Immutable.
 *
 * @param xdsHost      the control plane's xDS address
 * @param xdsPort      its port
 * @param service      the service this sidecar's workload belongs to
 * @param labels       the workload's labels (e.g. version=v1)
 * @param appPort      the app's port on 127.0.0.1 (captured: on the pod address, reached from 127.0.0.6)
 * @param inboundPort  the inbound listener's port on 127.0.0.1 (0 = ephemeral, for tests)
 * @param outboundPort the outbound listener's port on 127.0.0.1 (0 = ephemeral, for tests)
 * @param adminHost    the admin listener's address
 * @param adminPort    its port
 * @param tcp          the app speaks raw TCP: the inbound listener is a tcp_proxy (network RBAC), not HTTP
 * @param captureAddress null, or the pod address of a workload whose traffic iptables captures
 *                     ({@code --capture iptables --address IP}): the sidecar then binds {@value #VIRTUAL_INBOUND}
 *                     and {@value #VIRTUAL_OUTBOUND} on 0.0.0.0 (placeholders the control plane's, at the same
 *                     address, replace),
 *                     and registers the workload at this address and the app's port
 * @param ipv6         a captured pod is dual-stack ({@code --ipv6}): its captured listeners bind [::] with
 *                     ipv4_compat, and it registers {@code keelson.io/ipv6: true} so the control plane's do too
 * @param locality     where the workload runs ({@code --locality region/zone/subzone}): the node's standard
 *                     {@code locality}, which the control plane registers the workload in and orders endpoints by
 *                     (Locality.NONE: not said)
 * @param gatewayAddress null for a sidecar; for an ingress gateway ({@code --gateway}), the address it binds its
 *                     Gateways' server ports on: it then has no static listeners and no app, registers no workload,
 *                     and announces {@code keelson.io/gateway: true} with its labels (what Gateway selectors match)
 */
public record SidecarBootstrap(
    String xdsHost, int xdsPort, String service, Map<String, String> labels, int appPort,
    int inboundPort, int outboundPort, String adminHost, int adminPort, boolean tcp, String captureAddress,
    Locality locality, String gatewayAddress, boolean ipv6, String clusterId) {

  /** istiod's cluster id when none is given ({@code --cluster-id}): Istio's {@code CLUSTER_ID} default. */
  public static final String DEFAULT_CLUSTER_ID = "Kubernetes";

  /** In the default cluster ({@value #DEFAULT_CLUSTER_ID}). */
  public SidecarBootstrap(String xdsHost, int xdsPort, String service, Map<String, String> labels, int appPort,
      int inboundPort, int outboundPort, String adminHost, int adminPort, boolean tcp, String captureAddress,
      Locality locality, String gatewayAddress, boolean ipv6) {
    this(xdsHost, xdsPort, service, labels, appPort, inboundPort, outboundPort, adminHost, adminPort, tcp,
        captureAddress, locality, gatewayAddress, ipv6, DEFAULT_CLUSTER_ID);
  }

  /**
   * This bootstrap in cluster {@code id} ({@code --cluster-id}): the node's {@code CLUSTER_ID}, which Istio's metrics
   * report as {@code source_cluster} / {@code destination_cluster} and the metadata exchange sends to peers.
   */
  public SidecarBootstrap withClusterId(String id) {
    return new SidecarBootstrap(xdsHost, xdsPort, service, labels, appPort, inboundPort, outboundPort, adminHost,
        adminPort, tcp, captureAddress, locality, gatewayAddress, ipv6, id);
  }

  /** IPv4 only. */
  public SidecarBootstrap(String xdsHost, int xdsPort, String service, Map<String, String> labels, int appPort,
      int inboundPort, int outboundPort, String adminHost, int adminPort, boolean tcp, String captureAddress,
      Locality locality, String gatewayAddress) {
    this(xdsHost, xdsPort, service, labels, appPort, inboundPort, outboundPort, adminHost, adminPort, tcp,
        captureAddress, locality, gatewayAddress, false);
  }

  /** Without a locality. */
  public SidecarBootstrap(String xdsHost, int xdsPort, String service, Map<String, String> labels, int appPort,
      int inboundPort, int outboundPort, String adminHost, int adminPort, boolean tcp, String captureAddress) {
    this(xdsHost, xdsPort, service, labels, appPort, inboundPort, outboundPort, adminHost, adminPort, tcp,
        captureAddress, Locality.NONE, null);
  }

  /** This bootstrap with the workload in {@code where}. */
  public SidecarBootstrap withLocality(Locality where) {
    return new SidecarBootstrap(xdsHost, xdsPort, service, labels, appPort, inboundPort, outboundPort, adminHost,
        adminPort, tcp, captureAddress, where, gatewayAddress, ipv6, clusterId);
  }

  /** An ingress gateway: Istio Gateways whose selector matches {@code labels} program it; it binds on {@code address}. */
  public static SidecarBootstrap gateway(String xdsHost, int xdsPort, String name, Map<String, String> labels,
      String address, String adminHost, int adminPort) {
    return new SidecarBootstrap(xdsHost, xdsPort, name, labels, 0, 0, 0, adminHost, adminPort, false, null,
        Locality.NONE, Objects.requireNonNull(address, "address"));
  }

  /** Not captured: the app calls 127.0.0.1:outbound port. */
  public SidecarBootstrap(String xdsHost, int xdsPort, String service, Map<String, String> labels, int appPort,
      int inboundPort, int outboundPort, String adminHost, int adminPort, boolean tcp) {
    this(xdsHost, xdsPort, service, labels, appPort, inboundPort, outboundPort, adminHost, adminPort, tcp, null);
  }

  /** An HTTP app. */
  public SidecarBootstrap(String xdsHost, int xdsPort, String service, Map<String, String> labels, int appPort,
      int inboundPort, int outboundPort, String adminHost, int adminPort) {
    this(xdsHost, xdsPort, service, labels, appPort, inboundPort, outboundPort, adminHost, adminPort, false);
  }

  /** The static cluster of the app; '|' cannot appear in a service name, so a mesh cluster never shadows it. */
  public static final String APP_CLUSTER = "inbound|app";
  public static final String INBOUND = "inbound";
  public static final String OUTBOUND = "outbound";
  /** A captured sidecar's listeners (istiod's names; see CapturedListeners). */
  public static final String VIRTUAL_INBOUND = io.keelson.control.xds.CapturedListeners.VIRTUAL_INBOUND;
  public static final String VIRTUAL_OUTBOUND = io.keelson.control.xds.CapturedListeners.VIRTUAL_OUTBOUND;
  static final String XDS_CLUSTER = "xds-grpc";
  private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9.]*[a-z0-9])?");
  private static final Pattern LABEL = Pattern.compile("[A-Za-z0-9][-A-Za-z0-9_./]*");

  public SidecarBootstrap {
    Objects.requireNonNull(xdsHost, "xdsHost");
    if (service == null || !NAME.matcher(service).matches()) {
      throw new IllegalArgumentException("--service '" + service
          + "' is not a valid service name; expected lower-case letters, digits, '-' and '.' (like product-service)");
    }
    port("--xds", xdsPort, 1);
    port("--app-port", appPort, gatewayAddress != null ? 0 : 1);
    if (gatewayAddress != null && (captureAddress != null || !io.keelson.control.policy.IpLiteral.isIpv4(gatewayAddress))) {
      throw new IllegalArgumentException(captureAddress != null ? "--gateway cannot be used with --capture"
          : "--gateway-address '" + gatewayAddress + "' is not an IPv4 address; expected e.g. 0.0.0.0 or 127.0.0.1");
    }
    port("--inbound-port", inboundPort, 0);
    port("--outbound-port", outboundPort, 0);
    port("--admin", adminPort, 0);
    labels = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(labels)); // by name: the printed bootstrap is stable
    locality = locality == null ? Locality.NONE : locality;
    if (clusterId == null || !NAME.matcher(clusterId.toLowerCase(java.util.Locale.ROOT)).matches()) {
      throw new IllegalArgumentException("--cluster-id '" + clusterId + "' is not a cluster id; expected letters, "
          + "digits, '-' and '.' (Istio's default is " + DEFAULT_CLUSTER_ID + ")");
    }
    if (ipv6 && captureAddress == null) {
      throw new IllegalArgumentException("--ipv6 is only used with --capture iptables (a dual-stack captured pod, beside"
          + " 'bin/keelson iptables --ipv6')");
    }
    if (captureAddress != null) {
      if (!io.keelson.control.xds.NodeRegistration.podAddress(captureAddress)) {
        throw new IllegalArgumentException("--address '" + captureAddress + "' is not a pod address; expected the"
            + " workload's IPv4 address (not loopback or 0.0.0.0), e.g. 10.1.2.3");
      }
      // 0 (ephemeral) is for tests only: iptables redirects to fixed ports.
      if ((inboundPort != 0 && inboundPort == outboundPort) || appPort == inboundPort || appPort == outboundPort) {
        throw new IllegalArgumentException("--capture iptables needs distinct --inbound-port (" + inboundPort
            + "), --outbound-port (" + outboundPort + ") and --app-port (" + appPort + "): iptables redirects to them");
      }
    }
  }

  /** True for an ingress gateway. */
  public boolean gateway() {
    return gatewayAddress != null;
  }

  /** True when iptables captures this workload's traffic. */
  public boolean captured() {
    return captureAddress != null;
  }

  /** The listener inbound traffic arrives on: {@value #VIRTUAL_INBOUND} when captured, else {@value #INBOUND}. */
  public String inboundListener() {
    return captured() ? VIRTUAL_INBOUND : INBOUND;
  }

  /** The listener the app's outbound calls arrive on. */
  public String outboundListener() {
    return captured() ? VIRTUAL_OUTBOUND : OUTBOUND;
  }

  /** The app's static cluster: {@code inbound|<app port>} when captured (the control plane's name), else {@value #APP_CLUSTER}. */
  public String appCluster() {
    return captured() ? io.keelson.control.xds.CapturedListeners.appCluster(appPort) : APP_CLUSTER;
  }

  /** Parses {@code k=v[,k=v]}; the error names the bad pair. */
  public static Map<String, String> parseLabels(String text) {
    Map<String, String> labels = new LinkedHashMap<>();
    if (text == null || text.isBlank()) {
      return labels;
    }
    for (String pair : text.split(",")) {
      int eq = pair.indexOf('=');
      String k = eq < 0 ? "" : pair.substring(0, eq).trim();
      String v = eq < 0 ? "" : pair.substring(eq + 1).trim();
      if (!LABEL.matcher(k).matches() || !(v.isEmpty() || LABEL.matcher(v).matches())) {
        throw new IllegalArgumentException("--labels: '" + pair + "' is not a label; expected k=v[,k=v] such as version=v1");
      }
      labels.put(k, v);
    }
    return labels;
  }

  /** The node id for the bound inbound port: unique per sidecar on one machine. */
  public String nodeId(int boundInboundPort) {
    // A captured sidecar is alone in its network namespace, where the ports are always the same: its address is unique.
    return captured() ? service + "-" + captureAddress : service + "-" + boundInboundPort;
  }

  /** The node sent to the control plane, with the ports actually bound (they differ from the options with port 0). */
  public Node node(int boundInboundPort, int boundOutboundPort) {
    Struct.Builder labelStruct = Struct.newBuilder();
    labels.forEach((k, v) -> labelStruct.putFields(k, str(v)));
    if (gateway()) { // boundInboundPort: its admin port, which makes the node id unique on the machine
      return withLocality(Node.newBuilder().setId(service + "-" + boundInboundPort).setCluster(service)
          .setMetadata(Struct.newBuilder()
              .putFields(io.keelson.control.xds.NodeRegistration.GATEWAY, Value.newBuilder().setBoolValue(true).build())
              .putFields(io.keelson.control.xds.NodeRegistration.GATEWAY_ADDRESS, str(gatewayAddress))
              .putFields(CLUSTER_ID, str(clusterId))
              .putFields("keelson.io/labels", Value.newBuilder().setStructValue(labelStruct).build()))).build();
    }
    Struct.Builder metadata = Struct.newBuilder()
        .putFields("keelson.io/service", str(service))
        .putFields(CLUSTER_ID, str(clusterId))
        .putFields("keelson.io/address", str(captured() ? captureAddress : "127.0.0.1"))
        // The workload's endpoint: captured, the app itself (iptables brings its traffic to the sidecar).
        .putFields("keelson.io/port", Value.newBuilder().setNumberValue(captured() ? appPort : boundInboundPort).build())
        .putFields("keelson.io/outbound-port", Value.newBuilder().setNumberValue(boundOutboundPort).build())
        .putFields("keelson.io/app-port", Value.newBuilder().setNumberValue(appPort).build())
        .putFields("keelson.io/labels", Value.newBuilder().setStructValue(labelStruct).build());
    if (tcp) {
      metadata.putFields(io.keelson.control.xds.NodeRegistration.INBOUND_PROTOCOL, str("tcp"));
    }
    if (captured()) {
      metadata.putFields(io.keelson.control.xds.NodeRegistration.CAPTURE,
          str(io.keelson.control.xds.NodeRegistration.CAPTURE_IPTABLES));
      metadata.putFields(io.keelson.control.xds.NodeRegistration.INBOUND_PORT,
          Value.newBuilder().setNumberValue(boundInboundPort).build());
      if (ipv6) {
        metadata.putFields(io.keelson.control.xds.NodeRegistration.IPV6, Value.newBuilder().setBoolValue(true).build());
      }
    }
    return withLocality(Node.newBuilder().setId(nodeId(boundInboundPort)).setCluster(service)
        .setMetadata(metadata.build())).build();
  }

  /** {@code node} with its standard {@code locality} when one was said (sidecars and gateways alike). */
  private Node.Builder withLocality(Node.Builder node) {
    if (!locality.isEmpty()) {
      node.setLocality(locality.toProto());
    }
    return node;
  }

  /** Istio's node metadata key of the workload's cluster ({@link #clusterId}). */
  static final String CLUSTER_ID = "CLUSTER_ID";

  /** The node metadata key naming the workload's SPIFFE ID (set by a sidecar that has a workload certificate). */
  public static final String SPIFFE_ID = io.keelson.control.xds.NodeRegistration.SPIFFE_ID;

  /** {@code node} announcing that the workload is {@code spiffeUri} and accepts mesh mTLS. */
  public static Node withSpiffeId(Node node, String spiffeUri) {
    Struct md = node.getMetadata().toBuilder().putFields(SPIFFE_ID, str(spiffeUri)).build();
    return node.toBuilder().setMetadata(md).build();
  }

  /** The bootstrap as YAML, as {@code --print-bootstrap} shows it and as the proxy loads it. */
  public String yaml() {
    if (gateway()) {
      return gatewayYaml();
    }
    return """
        # Generated by bin/keelson proxy --service %1$s (sidecar mode).
        node:
          id: %2$s
          cluster: %1$s%18$s
          metadata:
            keelson.io/service: %1$s
            keelson.io/address: %13$s
            keelson.io/port: %14$d
            keelson.io/outbound-port: %4$d
            keelson.io/labels: { %5$s }%11$s
            CLUSTER_ID: "%21$s"
        admin:
          address: { socket_address: { address: %6$s, port_value: %7$d } }
        static_resources:
          listeners:
          # Mesh traffic for this workload: everything goes to the app.
          - name: %15$s
            address: { socket_address: { address: %17$s, port_value: %3$d } }
            filter_chains:
            - filters:
              %12$s
          # The app's calls into the mesh (Host: SERVICE). Bound at start; the control plane's listener
          # of the same name replaces this placeholder, which answers 503 until then.
          - name: %16$s
            address: { socket_address: { address: %17$s, port_value: %4$d } }
            filter_chains:
            - filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  stat_prefix: outbound
                  route_config:
                    name: outbound-placeholder
                    virtual_hosts:
                    - name: not-yet-configured
                      domains: ["*"]
                      routes:
                      - match: { prefix: "/" }
                        direct_response: { status: 503 }
                  http_filters:
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
          clusters:
          - name: "%8$s"
            type: STATIC
            connect_timeout: 1s
            load_assignment:
              cluster_name: "%8$s"
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: %19$s, port_value: %9$d } } }%20$s
        %10$s""".formatted(service, nodeId(inboundPort), inboundPort, outboundPort, labelsYaml(), adminHost, adminPort,
        appCluster(), appPort, xdsClusterAndAdsYaml(),
        (tcp ? "\n    " + io.keelson.control.xds.NodeRegistration.INBOUND_PROTOCOL + ": tcp" : "")
            + (captured() ? "\n    " + io.keelson.control.xds.NodeRegistration.CAPTURE + ": iptables\n    "
                + io.keelson.control.xds.NodeRegistration.INBOUND_PORT + ": " + inboundPort
                + (ipv6 ? "\n    " + io.keelson.control.xds.NodeRegistration.IPV6 + ": true" : "") : ""),
        inboundFilter(), captured() ? captureAddress : "127.0.0.1", captured() ? appPort : inboundPort,
        inboundListener(), outboundListener(), !captured() ? "127.0.0.1" : ipv6 ? "\"::\", ipv4_compat: true" // dual-stack
            : "0.0.0.0",
        localityYaml(),
        // Captured: the app on the pod address, from 127.0.0.6 (::6 to an IPv6 one), as the control plane's inbound
        // clusters (Istio 1.10+).
        captured() ? captureAddress : "127.0.0.1",
        captured() ? "\n    upstream_bind_config: { source_address: { address: "
            + io.keelson.control.xds.CapturedListeners.INBOUND_PASSTHROUGH_SOURCE + ", port_value: 0 },"
            + " extra_source_addresses: [ { address: { address: \""
            + io.keelson.control.xds.CapturedListeners.INBOUND_PASSTHROUGH_SOURCE_IPV6 + "\", port_value: 0 } } ] }" : "",
        clusterId);
  }

  /** The node's {@code locality} line (its own line, indented under {@code node:}), or "" when not said. */
  private String localityYaml() {
    return locality.isEmpty() ? "" : "\n  locality: { region: " + q(locality.region()) + ", zone: " + q(locality.zone())
        + ", sub_zone: " + q(locality.subzone()) + " }";
  }

  /** A gateway's bootstrap: no listeners until the control plane sends its Gateways' servers; the xDS cluster. */
  private String gatewayYaml() {
    return """
        # Generated by bin/keelson proxy --gateway --service %1$s (ingress gateway mode).
        node:
          id: %1$s-%5$d
          cluster: %1$s%9$s
          metadata:
            %6$s: true
            %7$s: %8$s
            keelson.io/labels: { %2$s }
            CLUSTER_ID: "%10$s"
        admin:
          address: { socket_address: { address: %3$s, port_value: %5$d } }
        static_resources:
          clusters:
        %4$s""".formatted(service, labelsYaml(), adminHost, xdsClusterAndAdsYaml(), adminPort,
        io.keelson.control.xds.NodeRegistration.GATEWAY, io.keelson.control.xds.NodeRegistration.GATEWAY_ADDRESS,
        gatewayAddress, localityYaml(), clusterId);
  }

  /** The node's labels as the inside of a YAML flow mapping ({@code "k": "v", ...}; sidecars and gateways alike). */
  private String labelsYaml() {
    StringBuilder l = new StringBuilder();
    labels.forEach((k, v) -> l.append(l.isEmpty() ? "" : ", ").append(q(k)).append(": ").append(q(v)));
    return l.toString();
  }

  /**
   * The last entry of {@code static_resources.clusters} (the xDS cluster) and the {@code dynamic_resources} that
   * use it over ADS: the end of both bootstrap forms.
   */
  private String xdsClusterAndAdsYaml() {
    return """
          - name: %1$s
            type: STRICT_DNS
            dns_lookup_family: V4_PREFERRED
            connect_timeout: 1s
            typed_extension_protocol_options:
              envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                explicit_http_config: { http2_protocol_options: {} }
            load_assignment:
              cluster_name: %1$s
              endpoints:
              - lb_endpoints:
                - endpoint: { address: { socket_address: { address: %2$s, port_value: %3$d } } }
        dynamic_resources:
          ads_config:
            api_type: GRPC
            transport_api_version: V3
            grpc_services:
            - envoy_grpc: { cluster_name: %1$s }
          cds_config: { ads: {}, resource_api_version: V3 }
          lds_config: { ads: {}, resource_api_version: V3 }
        """.formatted(XDS_CLUSTER, xdsHost, xdsPort);
  }

  /** The inbound chain's filter: an HTTP connection manager, or a tcp_proxy when the app speaks raw TCP. */
  private String inboundFilter() {
    String filter = tcp ? """
        - name: envoy.filters.network.tcp_proxy
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
            stat_prefix: inbound
            cluster: "%1$s"
        """ : """
        - name: envoy.filters.network.http_connection_manager
          typed_config:
            "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
            stat_prefix: inbound
            route_config:
              name: inbound
              virtual_hosts:
              - name: app
                domains: ["*"]
                routes:
                - match: { prefix: "/" }
                  route: { cluster: "%1$s" }
            http_filters:
            - name: envoy.filters.http.router
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
        """;
    return filter.formatted(appCluster()).stripTrailing().indent(6).stripTrailing().substring(6);
  }

  private static String q(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  private static void port(String option, int port, int min) {
    if (port < min || port > 65535) {
      throw new IllegalArgumentException(option + " port " + port + " is out of range; expected " + min + "-65535");
    }
  }
}
