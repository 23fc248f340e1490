package io.keelson.dataplane.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.keelson.dataplane.packet.GatewayConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Reads the gateway's VIPs from an Envoy bootstrap YAML ({@code static_resources}), in Envoy's terms:
 * a VIP is a listener whose {@code address.socket_address} is the VIP and port and whose filter is
 * {@code envoy.filters.network.tcp_proxy} (or a {@code udp_proxy} listener filter) naming a cluster;
 * the cluster's {@code load_assignment} endpoints are the backends, {@code load_balancing_weight}
 * their Maglev weights, and its {@code lb_policy} must be {@code MAGLEV}. Listeners with other
 * filters (HTTP) belong to the L7 proxy and are skipped.
 *
 * <p>A small adapter until the shared BootstrapLoader lands; errors name the file and the field path.
 * Threading: stateless.
 */
final class BootstrapVips {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final String TCP_PROXY = "envoy.filters.network.tcp_proxy";
  private static final String UDP_PROXY = "envoy.filters.udp_listener.udp_proxy";

  private BootstrapVips() {}

  static List<GatewayConfig.Vip> load(Path file) {
    JsonNode root;
    try {
      root = YAML.readTree(file.toFile());
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read the Envoy bootstrap: " + e.getMessage(), e);
    }
    if (root == null) {
      throw new IllegalArgumentException(file + ": empty Envoy bootstrap");
    }
    JsonNode resources = root.path("static_resources");
    Map<String, JsonNode> clusters = new HashMap<>();
    JsonNode clusterList = resources.path("clusters");
    for (int i = 0; i < clusterList.size(); i++) {
      clusters.put(clusterList.get(i).path("name").asText(), clusterList.get(i));
    }
    List<GatewayConfig.Vip> vips = new ArrayList<>();
    JsonNode listeners = resources.path("listeners");
    for (int i = 0; i < listeners.size(); i++) {
      JsonNode listener = listeners.get(i);
      String at = "static_resources.listeners[" + i + "]";
      String cluster = null;
      int protocol = 6;
      JsonNode chains = listener.path("filter_chains");
      for (int c = 0; c < chains.size() && cluster == null; c++) {
        JsonNode filters = chains.get(c).path("filters");
        for (int f = 0; f < filters.size(); f++) {
          if (TCP_PROXY.equals(filters.get(f).path("name").asText())) {
            cluster = required(file, filters.get(f).path("typed_config"), "cluster",
                at + ".filter_chains[" + c + "].filters[" + f + "].typed_config.cluster");
          }
        }
      }
      JsonNode listenerFilters = listener.path("listener_filters");
      for (int f = 0; f < listenerFilters.size() && cluster == null; f++) {
        if (UDP_PROXY.equals(listenerFilters.get(f).path("name").asText())) {
          cluster = required(file, listenerFilters.get(f).path("typed_config"), "cluster",
              at + ".listener_filters[" + f + "].typed_config.cluster");
          protocol = 17;
        }
      }
      if (cluster == null) {
        continue; // an L7 listener: not the gateway's
      }
      JsonNode socket = listener.path("address").path("socket_address");
      String address = required(file, socket, "address", at + ".address.socket_address.address");
      int port = port(file, socket, at + ".address.socket_address.port_value");
      if ("UDP".equalsIgnoreCase(socket.path("protocol").asText())) {
        protocol = 17;
      }
      JsonNode c = clusters.get(cluster);
      if (c == null) {
        throw new IllegalArgumentException(file + ": " + at + " names cluster '" + cluster
            + "', which static_resources.clusters does not define (have: " + clusters.keySet() + ")");
      }
      vips.add(new GatewayConfig.Vip(listener.path("name").asText(address + ":" + port),
          ipv4(file, address, at + ".address.socket_address.address"), port, protocol,
          backends(file, c, cluster)));
    }
    if (vips.isEmpty()) {
      throw new IllegalArgumentException(file + ": no listener with " + TCP_PROXY + " or " + UDP_PROXY
          + " in static_resources.listeners: the gateway has no VIP to serve");
    }
    return vips;
  }

  private static List<GatewayConfig.Backend> backends(Path file, JsonNode cluster, String name) {
    String at = "cluster '" + name + "'";
    String policy = cluster.path("lb_policy").asText("ROUND_ROBIN").toUpperCase(Locale.ROOT);
    if (!policy.equals("MAGLEV")) {
      throw new IllegalArgumentException(file + ": " + at + ".lb_policy is " + policy
          + "; the L4 gateway balances with MAGLEV only (set lb_policy: MAGLEV)");
    }
    List<GatewayConfig.Backend> out = new ArrayList<>();
    JsonNode localities = cluster.path("load_assignment").path("endpoints");
    for (int l = 0; l < localities.size(); l++) {
      JsonNode lbEndpoints = localities.get(l).path("lb_endpoints");
      for (int e = 0; e < lbEndpoints.size(); e++) {
        String path = at + ".load_assignment.endpoints[" + l + "].lb_endpoints[" + e + "]";
        JsonNode lbEndpoint = lbEndpoints.get(e);
        JsonNode socket = lbEndpoint.path("endpoint").path("address").path("socket_address");
        String address = required(file, socket, "address", path + ".endpoint.address.socket_address.address");
        int weight = lbEndpoint.path("load_balancing_weight").asInt(1);
        out.add(new GatewayConfig.Backend(ipv4(file, address, path), port(file, socket,
            path + ".endpoint.address.socket_address.port_value"), weight));
      }
    }
    return out;
  }

  private static String required(Path file, JsonNode parent, String field, String path) {
    JsonNode node = parent.path(field);
    if (!node.isValueNode() || node.asText().isEmpty()) {
      throw new IllegalArgumentException(file + ": " + path + " is missing");
    }
    return node.asText();
  }

  private static int port(Path file, JsonNode socket, String path) {
    JsonNode node = socket.path("port_value");
    if (!node.canConvertToInt() || node.asInt() < 1 || node.asInt() > 65535) {
      throw new IllegalArgumentException(file + ": " + path + ": expected a port in [1, 65535], got "
          + (node.isMissingNode() ? "nothing" : node));
    }
    return node.asInt();
  }

  private static int ipv4(Path file, String text, String path) {
    String[] parts = text.split("\\.");
    if (parts.length != 4) {
      throw new IllegalArgumentException(file + ": " + path + ": '" + text + "' is not an IPv4 address");
    }
    int ip = 0;
    for (String part : parts) {
      int b;
      try {
        b = Integer.parseInt(part);
      } catch (NumberFormatException e) {
        b = -1;
      }
      if (b < 0 || b > 255) {
        throw new IllegalArgumentException(file + ": " + path + ": '" + text + "' is not an IPv4 address");
      }
      ip = (ip << 8) | b;
    }
    return ip;
  }
}
