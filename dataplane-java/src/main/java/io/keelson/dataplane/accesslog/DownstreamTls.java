package io.keelson.dataplane.accesslog;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;

/**
 * What the access logs say of a connection's terminated TLS session: %DOWNSTREAM_TLS_VERSION% and
 * %DOWNSTREAM_PEER_URI_SAN% (the client certificate's URI SANs joined with commas, as Envoy). Read once per
 * connection (TCP or QUIC), after its handshake, and kept on the channel, so logging each request of a kept-alive or HTTP/2
 * connection costs an attribute lookup. Event-loop confined (the connection's).
 */
public final class DownstreamTls {
  /** Null fields: plaintext, or no client certificate. Immutable. */
  public record Info(String version, String peerUriSan) {
    static final Info NONE = new Info(null, null);
  }

  private static final AttributeKey<Info> KEY = AttributeKey.valueOf(DownstreamTls.class, "info");

  private DownstreamTls() {}

  /** {@code connection}'s TLS session as the access logs show it; {@link Info#NONE} before a handshake succeeded. */
  public static Info of(Channel connection) {
    Info cached = connection.attr(KEY).get();
    if (cached != null) {
      return cached;
    }
    javax.net.ssl.SSLEngine engine = io.keelson.dataplane.tls.TlsPipeline.handshakenEngine(connection);
    if (engine == null) {
      return Info.NONE; // not cached: a handshake may still complete (or the handler was already removed: kTLS)
    }
    javax.net.ssl.SSLSession session = engine.getSession();
    String uris = null;
    try {
      java.security.cert.Certificate[] peer = session.getPeerCertificates();
      if (peer.length > 0 && peer[0] instanceof java.security.cert.X509Certificate cert) {
        java.util.List<String> sans = io.keelson.dataplane.security.PeerIdentity.uriSans(cert);
        uris = sans.isEmpty() ? null : String.join(",", sans);
      }
    } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
      // no client certificate: the field stays "-"
    }
    Info info = new Info(session.getProtocol(), uris);
    connection.attr(KEY).set(info);
    return info;
  }
}
