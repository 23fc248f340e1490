package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.Route;
import io.envoyproxy.envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig;
import io.keelson.dataplane.config.UdpListenerConfig;
import java.time.Duration;

/**
 * A UDP listener ({@code address.socket_address.protocol: UDP}) with Envoy's
 * {@code envoy.filters.udp_listener.udp_proxy} as its only listener filter, to {@link UdpListenerConfig}. Fields
 * Keelson does not run are refused by {@link SupportedFields}; this checks the listener's shape. Stateless.
 */
final class UdpProxyTranslator {
  static final String NAME = "envoy.filters.udp_listener.udp_proxy";
  /** Envoy's bound: the proto's {@code max_rx_datagram_size} is below 65536. */
  private static final long MAX_DATAGRAM = 65_535;

  private UdpProxyTranslator() {}

  static boolean isUdp(Listener l) {
    return l.getAddress().getSocketAddress().getProtocol() == SocketAddress.Protocol.UDP;
  }

  /** The translated listener, or null after reporting why not. */
  static UdpListenerConfig translate(Listener l, String name, String path, Problems problems) {
    SocketAddress address = Addresses.socketAddress(problems, l.hasAddress(), l.getAddress(), path + ".address",
        SocketAddress.Protocol.UDP);
    boolean ok = address != null;
    if (l.getFilterChainsCount() > 0 || l.hasDefaultFilterChain()) {
      problems.error(path + (l.getFilterChainsCount() > 0 ? ".filter_chains" : ".default_filter_chain"),
          "listener '" + name + "' is a UDP listener, which runs no filter chains; expected only the " + NAME
              + " listener filter");
      ok = false;
    }
    if (l.hasUseOriginalDst() || l.getAccessLogCount() > 0) {
      problems.error(path + (l.hasUseOriginalDst() ? ".use_original_dst" : ".access_log"), "listener '" + name
          + "' is a UDP listener: use_original_dst and the listener's access_log apply to TCP listeners only;"
          + " expected them unset");
      ok = false;
    }
    if (l.getListenerFiltersCount() != 1) {
      problems.error(path + ".listener_filters", "UDP listener '" + name + "' has " + l.getListenerFiltersCount()
          + " listener filters; expected exactly one, " + NAME);
      return null;
    }
    String at = path + ".listener_filters[0]";
    UdpProxyConfig p = unpack(l.getListenerFilters(0), at, problems);
    if (p == null || !ok) {
      return null;
    }
    at += ".typed_config";
    String cluster = cluster(p, at, problems);
    Duration idle = p.hasIdleTimeout()
        ? Duration.ofSeconds(p.getIdleTimeout().getSeconds(), p.getIdleTimeout().getNanos())
        : UdpListenerConfig.DEFAULT_IDLE_TIMEOUT;
    if (idle.isNegative() || idle.isZero()) {
      problems.error(at + ".idle_timeout", "expected a positive duration");
      return null;
    }
    if (p.getStatPrefix().isEmpty()) {
      problems.error(at + ".stat_prefix", "a stat_prefix is required");
      return null;
    }
    boolean hashSourceIp = p.getHashPoliciesCount() == 1 && p.getHashPolicies(0).getSourceIp();
    if (p.getHashPoliciesCount() > 1) {
      problems.error(at + ".hash_policies", "at most one hash policy, as Envoy");
      return null;
    }
    int maxRx = maxRxDatagramSize(p.hasUpstreamSocketConfig() && p.getUpstreamSocketConfig().hasMaxRxDatagramSize(),
        p.getUpstreamSocketConfig().getMaxRxDatagramSize().getValue(), at + ".upstream_socket_config", problems);
    var down = l.getUdpListenerConfig().getDownstreamSocketConfig();
    int downMaxRx = maxRxDatagramSize(down.hasMaxRxDatagramSize(), down.getMaxRxDatagramSize().getValue(),
        path + ".udp_listener_config.downstream_socket_config", problems);
    if (cluster == null || maxRx < 0 || downMaxRx < 0) {
      return null;
    }
    return new UdpListenerConfig(name, address.getAddress(), address.getPortValue(), p.getStatPrefix(), cluster, idle,
        hashSourceIp, p.getUsePerPacketLoadBalancing(), maxRx, downMaxRx,
        AccessLogTranslator.translate(p.getAccessLogList(), at + ".access_log", problems), null);
  }

  private static UdpProxyConfig unpack(ListenerFilter f, String path, Problems problems) {
    if (!f.hasTypedConfig() || !SupportedTypes.typeName(f.getTypedConfig().getTypeUrl())
        .equals(UdpProxyConfig.getDescriptor().getFullName())) {
      problems.error(path, "listener filter '" + f.getName() + "' on a UDP listener; expected " + NAME + " with a "
          + UdpProxyConfig.getDescriptor().getFullName() + " typed_config");
      return null;
    }
    try {
      return f.getTypedConfig().unpack(UdpProxyConfig.class);
    } catch (InvalidProtocolBufferException e) {
      problems.error(path + ".typed_config", "not a valid " + UdpProxyConfig.getDescriptor().getFullName() + ": "
          + e.getMessage());
      return null;
    }
  }

  /** {@code cluster}, or the cluster of the matcher's {@code on_no_match} Route (other matchers are refused by field). */
  private static String cluster(UdpProxyConfig p, String path, Problems problems) {
    if (p.hasMatcher()) {
      var onNoMatch = p.getMatcher().getOnNoMatch();
      String at = path + ".matcher.on_no_match.action";
      if (!onNoMatch.hasAction() || !onNoMatch.getAction().getTypedConfig().is(Route.class)) {
        problems.error(at, "expected an action whose typed_config is " + Route.getDescriptor().getFullName());
        return null;
      }
      try {
        String cluster = onNoMatch.getAction().getTypedConfig().unpack(Route.class).getCluster();
        if (cluster.isEmpty()) {
          problems.error(at + ".typed_config.cluster", "a cluster is required");
          return null;
        }
        return cluster;
      } catch (InvalidProtocolBufferException e) {
        problems.error(at + ".typed_config", "not a valid Route: " + e.getMessage());
        return null;
      }
    }
    if (p.getCluster().isEmpty()) {
      problems.error(path, "expected cluster or matcher (with an on_no_match Route)");
      return null;
    }
    return p.getCluster();
  }

  /** The size, Envoy's default when unset, or -1 after reporting an out-of-range one. */
  private static int maxRxDatagramSize(boolean set, long value, String path, Problems problems) {
    if (!set) {
      return UdpListenerConfig.DEFAULT_MAX_RX_DATAGRAM_SIZE;
    }
    if (value <= 0 || value > MAX_DATAGRAM) {
      problems.error(path + ".max_rx_datagram_size", value + " is out of range; expected 1-" + MAX_DATAGRAM);
      return -1;
    }
    return (int) value;
  }
}
