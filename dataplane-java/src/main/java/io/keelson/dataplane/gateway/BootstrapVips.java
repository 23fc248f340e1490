package io.keelson.dataplane.gateway;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.packet.GatewayConfig;
import io.keelson.dataplane.packet.Ipv6Config;
import java.nio.file.Path;
import java.util.List;

/**
 * The gateway's VIPs from an Envoy bootstrap YAML, through the data plane's one config model
 * ({@link BootstrapLoader} → ProxySnapshot → {@link GatewayConfig#vipsFrom}): a VIP is a listener with
 * {@code envoy.filters.network.tcp_proxy} on a cluster with {@code lb_policy: MAGLEV}.
 *
 * <p>Threading: stateless.
 */
final class BootstrapVips {
  private BootstrapVips() {}

  /** The VIPs of both families. */
  record Vips(List<GatewayConfig.Vip> ipv4, List<Ipv6Config.Vip6> ipv6) {
    int size() {
      return ipv4.size() + ipv6.size();
    }
  }

  /** @throws IllegalArgumentException naming the file and what is wrong in it */
  static Vips load(Path file) {
    Vips vips;
    try {
      ProxySnapshot snapshot = BootstrapLoader.load(file);
      vips = new Vips(GatewayConfig.vipsFrom(snapshot), GatewayConfig.vips6From(snapshot));
    } catch (ConfigException | IllegalArgumentException e) {
      throw new IllegalArgumentException(named(file, e.getMessage()), e);
    }
    if (vips.size() == 0) {
      throw new IllegalArgumentException(file + ": no listener with envoy.filters.network.tcp_proxy on a"
          + " MAGLEV cluster in static_resources.listeners: the gateway has no VIP to serve");
    }
    return vips;
  }

  private static String named(Path file, String message) {
    String m = String.valueOf(message);
    return m.contains(file.getFileName().toString()) ? m : file + ": " + m;
  }
}
