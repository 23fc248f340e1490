package io.keelson.control.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.control.policy.Locality;
import io.keelson.control.policy.Policy;
import java.util.Map;
import java.util.TreeMap;

/**
 * The node metadata through which a sidecar registers its own workload, and proxyless clients
 * identify themselves. Stateless.
 * <ul>
 *   <li>{@value #SERVICE}: the service the sidecar's workload belongs to (string; required to register);
 *   <li>{@value #ADDRESS}: the address its inbound listener accepts mesh traffic on (string; default 127.0.0.1);
 *   <li>{@value #PORT}: that listener's port (number or string; required to register);
 *   <li>{@value #LABELS}: the workload's labels, e.g. {@code version: v1} (struct of strings);
 *   <li>{@value #OUTBOUND_PORT}: the port of its outbound listener, when not the control plane's default
 *       (several sidecars on one machine);
 *   <li>{@value #INBOUND_PROTOCOL}: {@code tcp} when the app behind the sidecar speaks raw TCP (default http);
 *   <li>{@value #PROXYLESS}: true for a proxyless gRPC client (also recognised by a user agent starting "gRPC");
 *   <li>{@value #CAPTURE}: {@code iptables} when the workload's traffic is captured (bin/keelson iptables): the
 *       sidecar then registers its pod address and app port ({@value #ADDRESS}, {@value #PORT}) and names its
 *       inbound (capture) port in {@value #INBOUND_PORT}; it gets virtualOutbound/virtualInbound ({@link CapturedListeners});
 *   <li>{@value #IPV6}: {@code true} when a captured pod is dual-stack (its listeners then bind {@code [::]});
 *   <li>{@value #GATEWAY}: true for an ingress gateway: it registers no workload, Istio Gateways select it by its
 *       {@value #LABELS}, and it binds their ports on {@value #GATEWAY_ADDRESS} ({@link GatewayTranslator}).
 * </ul>
 */
public final class NodeRegistration {
  public static final String SERVICE = "keelson.io/service";
  public static final String ADDRESS = "keelson.io/address";
  public static final String PORT = "keelson.io/port";
  public static final String LABELS = "keelson.io/labels";
  public static final String PROXYLESS = "keelson.io/proxyless";
  public static final String OUTBOUND_PORT = "keelson.io/outbound-port";
  /** The workload's SPIFFE ID: set by a sidecar holding a workload certificate, which then speaks mesh mTLS. */
  public static final String SPIFFE_ID = "keelson.io/spiffe-id";
  /** The app's port behind the sidecar (PeerAuthentication's portLevelMtls keys). */
  public static final String APP_PORT = "keelson.io/app-port";
  /** What the app behind the sidecar speaks: {@code http} (default) or {@code tcp} (raw TCP, network RBAC). */
  public static final String INBOUND_PROTOCOL = "keelson.io/inbound-protocol";

  /** How the workload's traffic reaches the sidecar: absent (explicit, 127.0.0.1) or {@code iptables}. */
  public static final String CAPTURE = "keelson.io/capture";
  /** A captured sidecar's inbound port (its virtualInbound, where iptables sends inbound TCP). */
  public static final String INBOUND_PORT = "keelson.io/inbound-port";
  public static final String CAPTURE_IPTABLES = "iptables";
  /**
   * {@code true}: the captured pod is dual-stack ({@code bin/keelson proxy --ipv6}, beside {@code bin/keelson iptables
   * --ipv6}): its virtualOutbound/virtualInbound bind {@code [::]} with {@code ipv4_compat} and IPv6 destinations get
   * an inbound passthrough from ::6. Otherwise {@code 0.0.0.0} (a host without IPv6 cannot bind {@code ::}).
   */
  public static final String IPV6 = "keelson.io/ipv6";

  /** {@code true}: the proxy is an ingress gateway (Istio Gateways select it by {@value #LABELS}), not a sidecar. */
  public static final String GATEWAY = "keelson.io/gateway";
  /** The address a gateway binds its servers' ports on (default {@value #GATEWAY_DEFAULT_ADDRESS}). */
  public static final String GATEWAY_ADDRESS = "keelson.io/gateway-address";
  public static final String GATEWAY_DEFAULT_ADDRESS = "0.0.0.0";
  /**
   * The proxy's namespace (its {@code sourceNamespace} matches) when no SPIFFE ID says it: Keelson's key, else Istio's
   * {@value #ISTIO_NAMESPACE} (what istiod reads from a proxyless gRPC client's bootstrap).
   */
  public static final String NAMESPACE = "keelson.io/namespace";
  public static final String ISTIO_NAMESPACE = "NAMESPACE";
  /** Istio's node metadata: the Kubernetes node the proxy runs on (its pod's {@code spec.nodeName}). */
  public static final String NODE_NAME = "NODE_NAME";
  /** A proxy's network (istiod's proxy metadata {@code NETWORK}): the caller's {@value Locality#NETWORK} label. */
  public static final String NETWORK = "NETWORK";

  private NodeRegistration() {}

  /** A gateway proxy's registration: the labels Gateways select it by, and where it binds their ports. */
  public record Gateway(Map<String, String> labels, String address) {}

  /**
   * The node's gateway registration, or null when it does not say {@value #GATEWAY}: true.
   *
   * @throws IllegalArgumentException naming the key when its {@value #GATEWAY_ADDRESS} is not an IPv4 address
   */
  static Gateway gateway(Node node) {
    Map<String, Value> md = node.getMetadata().getFieldsMap();
    Value v = md.get(GATEWAY);
    if (v == null || !(v.getBoolValue() || v.getStringValue().equalsIgnoreCase("true"))) {
      return null;
    }
    String address = md.containsKey(GATEWAY_ADDRESS) && !md.get(GATEWAY_ADDRESS).getStringValue().isEmpty()
        ? md.get(GATEWAY_ADDRESS).getStringValue() : GATEWAY_DEFAULT_ADDRESS;
    if (!io.keelson.control.policy.IpLiteral.isIpv4(address)) {
      throw new IllegalArgumentException("node " + node.getId() + ": " + GATEWAY_ADDRESS + " '" + address
          + "' is not an IPv4 address; expected e.g. 0.0.0.0 or 127.0.0.1");
    }
    return new Gateway(labels(md), address);
  }

  /**
   * The node's {@value #NAMESPACE}, else its {@value #ISTIO_NAMESPACE}; null without either.
   *
   * @throws IllegalArgumentException when it is not a namespace name
   */
  static String namespace(Node node) {
    Map<String, Value> md = node.getMetadata().getFieldsMap();
    String key = md.containsKey(NAMESPACE) ? NAMESPACE : md.containsKey(ISTIO_NAMESPACE) ? ISTIO_NAMESPACE : null;
    if (key == null) {
      return null;
    }
    String ns = md.get(key).getStringValue();
    if (!ns.matches("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")) {
      throw new IllegalArgumentException("node " + node.getId() + ": " + key + " '" + ns + "' is not a namespace name;"
          + " expected a DNS label such as shop");
    }
    return ns;
  }

  /** The node's {@value #LABELS} (a proxyless client's workload labels, for its sourceLabels matches); empty without. */
  static Map<String, String> labels(Node node) {
    return labels(node.getMetadata().getFieldsMap());
  }

  private static Map<String, String> labels(Map<String, Value> md) {
    Map<String, String> labels = new TreeMap<>();
    if (md.containsKey(LABELS)) {
      Struct s = md.get(LABELS).getStructValue();
      s.getFieldsMap().forEach((k, v) -> labels.put(k, v.hasStringValue() ? v.getStringValue()
          : v.hasNumberValue() ? String.valueOf((long) v.getNumberValue()) : String.valueOf(v.getBoolValue())));
    }
    return Map.copyOf(labels);
  }

  /**
   * A captured sidecar's registration.
   *
   * @param address     the pod address its workload is registered at
   * @param appPort     the app's port: the workload's endpoint port, and the port virtualInbound sends to the app
   * @param inboundPort virtualInbound's port
   * @param outboundPort virtualOutbound's port
   * @param ipv6        the pod is dual-stack ({@value #IPV6}): its captured listeners bind {@code [::]}
   */
  public record Capture(String address, int appPort, int inboundPort, int outboundPort, boolean ipv6) {
    /** IPv4 only (not {@value NodeRegistration#IPV6}). */
    public Capture(String address, int appPort, int inboundPort, int outboundPort) {
      this(address, appPort, inboundPort, outboundPort, false);
    }
  }

  /**
   * The node's capture registration, or null when it does not say {@value #CAPTURE}.
   *
   * @throws IllegalArgumentException naming the metadata key when it says so but its registration is unusable
   */
  static Capture capture(Node node, int defaultOutboundPort) {
    Map<String, Value> md = node.getMetadata().getFieldsMap();
    Value mode = md.get(CAPTURE);
    if (mode == null || mode.getStringValue().isEmpty() || mode.getStringValue().equals("none")) {
      return null;
    }
    String where = "node " + node.getId() + ": ";
    if (!mode.getStringValue().equals(CAPTURE_IPTABLES)) {
      throw new IllegalArgumentException(where + CAPTURE + " '" + mode.getStringValue() + "' is not supported; expected "
          + CAPTURE_IPTABLES + " (or none)");
    }
    String address = md.containsKey(ADDRESS) ? md.get(ADDRESS).getStringValue() : "";
    if (!podAddress(address)) {
      throw new IllegalArgumentException(where + ADDRESS + " '" + address + "': a captured sidecar registers its pod's"
          + " IPv4 address (not loopback or 0.0.0.0), e.g. 10.1.2.3");
    }
    int port = port(md.get(PORT));
    int appPort = md.containsKey(APP_PORT) ? port(md.get(APP_PORT)) : port;
    if (appPort <= 0 || appPort > 65535 || port != appPort) {
      throw new IllegalArgumentException(where + PORT + " (" + port + ") and " + APP_PORT + " (" + appPort + ") must be"
          + " the app's port (1-65535): a captured workload's endpoint is its address and app port");
    }
    int inbound = md.containsKey(INBOUND_PORT) ? port(md.get(INBOUND_PORT)) : 15006;
    if (inbound <= 0 || inbound > 65535 || inbound == appPort) {
      throw new IllegalArgumentException(where + INBOUND_PORT + " (" + inbound + ") must be a port (1-65535) other"
          + " than the app's");
    }
    int outbound = outboundPort(node, defaultOutboundPort);
    if (outbound == inbound || outbound == appPort) {
      throw new IllegalArgumentException(where + OUTBOUND_PORT + " (" + outbound + ") must differ from the inbound ("
          + inbound + ") and app (" + appPort + ") ports");
    }
    Value ipv6 = md.get(IPV6);
    if (ipv6 != null && ipv6.getKindCase() != Value.KindCase.BOOL_VALUE
        && !java.util.List.of("true", "false").contains(ipv6.getStringValue())) {
      throw new IllegalArgumentException(where + IPV6 + " must be true or false (the pod is dual-stack: its sidecar was"
          + " started with --ipv6)");
    }
    return new Capture(address, appPort, inbound, outbound,
        ipv6 != null && (ipv6.getBoolValue() || ipv6.getStringValue().equals("true")));
  }

  /** A literal IPv4 address a pod can have: not loopback, not unspecified. */
  public static boolean podAddress(String address) {
    return io.keelson.control.policy.IpLiteral.isIpv4(address) && !address.startsWith("127.")
        && !address.equals("0.0.0.0");
  }

  /** The workload this node registers, or null when its metadata does not name a service and port. */
  static Policy.Workload workload(Node node) {
    Map<String, Value> md = node.getMetadata().getFieldsMap();
    String service = md.containsKey(SERVICE) ? md.get(SERVICE).getStringValue() : "";
    int port = port(md.get(PORT));
    if (service.isEmpty() || port <= 0 || port > 65535) {
      return null;
    }
    String address = md.containsKey(ADDRESS) && !md.get(ADDRESS).getStringValue().isEmpty()
        ? md.get(ADDRESS).getStringValue() : "127.0.0.1";
    Map<String, String> labels = withNetwork(node, labels(md));
    String name = "sidecar." + node.getId().toLowerCase().replaceAll("[^a-z0-9.-]", "-");
    Policy.Meta meta = new Policy.Meta("keelson.io/v1alpha1", "Workload", name, "xds-node:" + node.getId(), "");
    // The node's locality (bin/keelson proxy --locality) becomes the workload's topology labels, as istiod's, and its
    // NETWORK its network label (istiod's AugmentLabels). Its node (kubernetes.io/hostname, what PreferSameNode
    // compares) is only the one its labels declare (--labels), as the operator starts the proxy: not its NODE_NAME,
    // which places the proxy as a caller only (augmented), so a proxy cannot draw every node's PreferSameNode calls by
    // claiming to be on each (istiod reads a pod's node from the API).
    Locality locality = Locality.of(node.getLocality());
    return new Policy.Workload(meta, service, address, port,
        locality.isEmpty() ? Map.copyOf(labels) : locality.addTo(labels));
  }

  /**
   * {@code labels} (a proxy's, as a caller) with the node's {@value #NODE_NAME} as label {@value Locality#HOSTNAME} and
   * its {@value #NETWORK} ({@link #withNetwork}), as istiod augments a proxy's labels (what {@code trafficDistribution}
   * compares); {@code labels} when it sends neither. The node name places the proxy as a caller only, never the
   * endpoint it registers ({@link #workload}).
   */
  static Map<String, String> augmented(Node node, Map<String, String> labels) {
    Map<String, String> out = withNetwork(node, labels);
    String name = metadata(node, NODE_NAME);
    if (name.isEmpty()) {
      return out;
    }
    Map<String, String> withNode = new java.util.HashMap<>(out);
    withNode.put(Locality.HOSTNAME, name);
    return Map.copyOf(withNode);
  }

  /**
   * {@code labels} with the node's {@value #NETWORK} as label {@value Locality#NETWORK} unless they have a network
   * already, as istiod's {@code AugmentLabels} (a workload's own network label wins; an empty one is none): the
   * caller's and the endpoint's it registers alike, so that proxies of one network compare equal on it.
   */
  static Map<String, String> withNetwork(Node node, Map<String, String> labels) {
    String network = metadata(node, NETWORK);
    if (network.isEmpty() || !labels.getOrDefault(Locality.NETWORK, "").isEmpty()) {
      return labels;
    }
    Map<String, String> out = new java.util.HashMap<>(labels);
    out.put(Locality.NETWORK, network);
    return Map.copyOf(out);
  }

  /** The node's metadata string {@code key}, or empty. */
  private static String metadata(Node node, String key) {
    Value v = node.getMetadata().getFieldsMap().get(key);
    return v == null ? "" : v.getStringValue();
  }

  /**
   * Where the proxy runs, for the endpoint priorities it is sent: its {@code Node.locality}, else the topology labels
   * of the workload it registers ({@value #LABELS}), else {@link Locality#NONE}.
   */
  static Locality proxyLocality(Node node, Policy.Workload registers) {
    Locality l = Locality.of(node.getLocality()); // the standard xDS Node.locality
    return !l.isEmpty() || registers == null ? l : registers.locality();
  }

  /** The node's SPIFFE ID, or null. On the secure port XdsServer holds it to the join token's identity. */
  static String spiffeId(Node node) {
    Value v = node.getMetadata().getFieldsMap().get(SPIFFE_ID);
    return v == null || !v.getStringValue().startsWith("spiffe://") ? null : v.getStringValue();
  }

  /** True when the node's app speaks raw TCP ({@value #INBOUND_PROTOCOL}: tcp). */
  static boolean tcpInbound(Node node) {
    Value v = node.getMetadata().getFieldsMap().get(INBOUND_PROTOCOL);
    return v != null && v.getStringValue().equalsIgnoreCase("tcp");
  }

  static int appPort(Node node) {
    return port(node.getMetadata().getFieldsMap().get(APP_PORT));
  }

  static int outboundPort(Node node, int fallback) {
    int p = port(node.getMetadata().getFieldsMap().get(OUTBOUND_PORT));
    return p > 0 && p <= 65535 ? p : fallback;
  }

  static boolean proxyless(Node node) {
    Value v = node.getMetadata().getFieldsMap().get(PROXYLESS);
    return (v != null && v.getBoolValue()) || node.getUserAgentName().startsWith("gRPC");
  }

  private static int port(Value v) {
    if (v == null) {
      return -1;
    }
    if (v.hasNumberValue()) {
      return (int) v.getNumberValue();
    }
    try {
      return Integer.parseInt(v.getStringValue());
    } catch (NumberFormatException e) {
      return -1;
    }
  }
}
