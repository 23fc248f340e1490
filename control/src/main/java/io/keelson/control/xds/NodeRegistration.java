package io.keelson.control.xds;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
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
 *   <li>{@value #PROXYLESS}: true for a proxyless gRPC client (also recognised by a user agent starting "gRPC").
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

  private NodeRegistration() {}

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
    Map<String, String> labels = new TreeMap<>();
    if (md.containsKey(LABELS)) {
      Struct s = md.get(LABELS).getStructValue();
      s.getFieldsMap().forEach((k, v) -> labels.put(k, v.hasStringValue() ? v.getStringValue()
          : v.hasNumberValue() ? String.valueOf((long) v.getNumberValue()) : String.valueOf(v.getBoolValue())));
    }
    String name = "sidecar." + node.getId().toLowerCase().replaceAll("[^a-z0-9.-]", "-");
    Policy.Meta meta = new Policy.Meta("keelson.io/v1alpha1", "Workload", name, "xds-node:" + node.getId(), "");
    return new Policy.Workload(meta, service, address, port, Map.copyOf(labels));
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
