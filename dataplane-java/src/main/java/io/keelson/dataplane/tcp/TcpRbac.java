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
 * The {@code envoy.filters.network.rbac} filters in front of one tcp_proxy: checked in order once per
 * connection (source IP, destination, SNI, and the verified client certificate's URI SAN when TLS is
 * terminated); the first denial decides. Counts Envoy's {@code <stat_prefix>.rbac.allowed / denied /
 * shadow_allowed / shadow_denied}. Immutable and thread-safe (counters are LongAdders).
 */
final class TcpRbac {
  private record Filter(NetworkRbacConfig config, LongAdder allowed, LongAdder denied,
      LongAdder shadowAllowed, LongAdder shadowDenied) {}

  private final Filter[] filters;

  private TcpRbac(List<NetworkRbacConfig> configs, StatsRegistry stats) {
    this.filters = configs.stream().map(c -> {
      String p = c.statPrefix() + (c.statPrefix().endsWith(".") ? "" : ".") + "rbac.";
      String s = p + c.shadowRulesStatPrefix();
      return new Filter(c, stats.counter(p + "allowed"), stats.counter(p + "denied"),
          c.hasShadowRules() ? stats.counter(s + "shadow_allowed") : null,
          c.hasShadowRules() ? stats.counter(s + "shadow_denied") : null);
    }).toArray(Filter[]::new);
  }

  /** The check for this tcp_proxy, or null when its chain has no network RBAC filter. */
  static TcpRbac of(TcpProxyConfig config, StatsRegistry stats) {
    return config.rbac().isEmpty() ? null : new TcpRbac(config.rbac(), stats);
  }

  /** Decides a connection (after its TLS handshake, when TLS is terminated): false = close it. */
  boolean allows(Channel ch, String sni) {
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
    HeadRequestView view = new HeadRequestView().connection(
        ch.remoteAddress() instanceof InetSocketAddress r ? r : null,
        io.keelson.dataplane.intercept.OriginalDestination.localAddress(ch), mtls, principal, sni);
    for (Filter f : filters) {
      RbacDecision shadow = f.config().decideShadow(view);
      if (shadow != null) {
        (shadow.allowed() ? f.shadowAllowed() : f.shadowDenied()).increment();
      }
      if (!f.config().decide(view).allowed()) {
        f.denied().increment();
        return false;
      }
      f.allowed().increment();
    }
    return true;
  }
}
