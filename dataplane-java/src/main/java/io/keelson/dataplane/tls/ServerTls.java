package io.keelson.dataplane.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * A listener's built TLS context: one per config, shared by every connection. Immutable and
 * thread-safe.
 *
 * @param config   what it was built from
 * @param context  the Netty context
 * @param provider BoringSSL or JDK
 * @param alpn     the ALPN protocols actually advertised (configured ones this process can serve)
 * @param credentials what the context was built from (certificate, client verification), for a QUIC listener's
 *                 context ({@link QuicServerTls}); null for one built in a test
 */
public record ServerTls(DownstreamTlsConfig config, SslContext context, SslProvider provider, List<String> alpn,
    ServerCredentials credentials) {

  /** A context built without its credentials kept (no QUIC context can be made from it). */
  public ServerTls(DownstreamTlsConfig config, SslContext context, SslProvider provider, List<String> alpn) {
    this(config, context, provider, alpn, null);
  }

  /** A new server-side handler for one accepted connection. */
  public SslHandler newHandler(ByteBufAllocator alloc) {
    SslHandler h = context.newHandler(alloc);
    applyCurves(h.engine(), provider, config.params());
    return h;
  }

  /** JDK engines take named groups per engine; BoringSSL got them on the context. */
  static void applyCurves(SSLEngine engine, SslProvider provider, TlsParams params) {
    if (provider == SslProvider.JDK && !params.ecdhCurves().isEmpty()) {
      SSLParameters p = engine.getSSLParameters();
      p.setNamedGroups(params.ecdhCurves().stream().map(ServerTls::jdkGroup).toArray(String[]::new));
      engine.setSSLParameters(p);
    }
  }

  private static String jdkGroup(String envoyName) {
    return switch (envoyName) {
      case "P-256" -> "secp256r1";
      case "P-384" -> "secp384r1";
      case "P-521" -> "secp521r1";
      case "X25519" -> "x25519";
      default -> envoyName;
    };
  }
}
