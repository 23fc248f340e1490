package io.keelson.dataplane.tcp;

import io.keelson.dataplane.config.TcpProxyConfig;
import io.keelson.dataplane.rbac.HeadRequestView;
import io.keelson.dataplane.rbac.NetworkRbacConfig;
import io.keelson.dataplane.rbac.RbacDecision;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.tls.ForwardClientCert;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.security.cert.Certificate;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * The authorization filters in front of one tcp_proxy: its {@code envoy.filters.network.rbac} filters, checked in order
 * once per connection (source IP, destination, SNI, and the verified client certificate's URI SAN when TLS is
 * terminated; the first denial decides), and the chain's {@code envoy.filters.network.ext_authz} filter if any
 * ({@link #extAuthz}, run by the handler between the RBAC filters before it and those after it). Counts Envoy's
 * {@code <stat_prefix>.rbac.allowed / denied / shadow_allowed / shadow_denied}. Immutable and thread-safe (counters
 * are LongAdders).
 */
final class TcpRbac {
  private record Filter(NetworkRbacConfig config, LongAdder allowed, LongAdder denied,
      LongAdder shadowAllowed, LongAdder shadowDenied) {}

  private final Filter[] filters;
  private final io.keelson.dataplane.filter.extauthz.NetworkAuthzCheck extAuthz;
  private final int extAuthzAfter;

  private TcpRbac(TcpProxyConfig config, StatsRegistry stats) {
    List<NetworkRbacConfig> configs = config.rbac();
    this.extAuthz = config.extAuthz() == null ? null
        : new io.keelson.dataplane.filter.extauthz.NetworkAuthzCheck(config.extAuthz(), stats);
    this.extAuthzAfter = config.extAuthzAfter();
    this.filters = configs.stream().map(c -> {
      String p = c.statPrefix() + (c.statPrefix().endsWith(".") ? "" : ".") + "rbac.";
      String s = p + c.shadowRulesStatPrefix();
      return new Filter(c, stats.counter(p + "allowed"), stats.counter(p + "denied"),
          c.hasShadowRules() ? stats.counter(s + "shadow_allowed") : null,
          c.hasShadowRules() ? stats.counter(s + "shadow_denied") : null);
    }).toArray(Filter[]::new);
  }

  /** The checks for this tcp_proxy, or null when its chain has no network RBAC or ext_authz filter. */
  static TcpRbac of(TcpProxyConfig config, StatsRegistry stats) {
    return config.rbac().isEmpty() && config.extAuthz() == null ? null : new TcpRbac(config, stats);
  }

  /** The chain's network ext_authz filter, or null. */
  io.keelson.dataplane.filter.extauthz.NetworkAuthzCheck extAuthz() {
    return extAuthz;
  }

  /** How many RBAC filters run before {@link #extAuthz} (the rest run after its answer). */
  int extAuthzAfter() {
    return extAuthzAfter;
  }

  /** Decides a connection (after its TLS handshake, when TLS is terminated) by every filter: false = close it. */
  boolean allows(Channel ch, String sni) {
    return allows(ch, sni, 0, filters.length, null);
  }

  /** How many network RBAC filters there are. */
  int size() {
    return filters.length;
  }

  /**
   * Decides a connection by filters {@code [from, to)} in order: false = close it (the first denial decides, and the
   * later filters are not run). When {@code shadows} is given, each filter's shadow decision (null without shadow rules)
   * is stored at its index, for {@link #metadata}.
   */
  boolean allows(Channel ch, String sni, int from, int to, RbacDecision[] shadows) {
    if (from >= to) {
      return true;
    }
    String principal = null;
    boolean mtls = false;
    SslHandler ssl = ch.pipeline().get(SslHandler.class);
    if (ssl != null && ssl.handshakeFuture().isSuccess()) {
      try {
        Certificate[] peer = ssl.engine().getSession().getPeerCertificates();
        mtls = peer.length > 0;
      } catch (SSLPeerUnverifiedException e) {
        mtls = false;
      }
      principal = mtls ? ForwardClientCert.peerSpiffeUri(ch) : null;
    }
    HeadRequestView view = new HeadRequestView().connection(io.keelson.dataplane.intercept.RemoteAddress.peer(ch),
        io.keelson.dataplane.intercept.RemoteAddress.of(ch),
        io.keelson.dataplane.intercept.OriginalDestination.localAddress(ch), mtls, principal, sni);
    for (int i = from; i < to; i++) {
      Filter f = filters[i];
      RbacDecision shadow = f.config().decideShadow(view);
      if (shadow != null) {
        (shadow.allowed() ? f.shadowAllowed() : f.shadowDenied()).increment();
      }
      if (shadows != null) {
        shadows[i] = shadow;
      }
      if (!f.config().decide(view).allowed()) {
        f.denied().increment();
        return false;
      }
      f.allowed().increment();
    }
    return true;
  }

  /**
   * The dynamic metadata filters {@code [0, to)} left, as Envoy's network RBAC filter publishes it under
   * {@code envoy.filters.network.rbac}: {@code <shadow_rules_stat_prefix>shadow_effective_policy_id} and
   * {@code shadow_engine_result} of each filter with shadow rules (a later filter's keys replace an earlier one's).
   */
  io.keelson.dataplane.filter.DynamicMetadata metadata(int to, RbacDecision[] shadows) {
    return (filter, path) -> {
      if (!NAMESPACE.equals(filter) || path.length != 1) {
        return null;
      }
      for (int i = to - 1; i >= 0; i--) {
        RbacDecision shadow = shadows[i];
        String prefix = filters[i].config().shadowRulesStatPrefix();
        if (shadow == null || !path[0].startsWith(prefix)) {
          continue;
        }
        String key = path[0].substring(prefix.length());
        if (key.equals("shadow_effective_policy_id")) {
          if (shadow.policy() != null) {
            return shadow.policy();
          }
        } else if (key.equals("shadow_engine_result")) {
          return shadow.allowed() ? "allowed" : "denied";
        }
      }
      return null;
    };
  }

  /** The dynamic metadata namespace network RBAC filters write. */
  static final String NAMESPACE = "envoy.filters.network.rbac";
}
