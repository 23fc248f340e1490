package io.keelson.dataplane.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;

/**
 * A cluster's built TLS context for origination: one per config, shared by every upstream
 * connection; the context keeps a client session cache so reconnects to the same host and port
 * resume. Immutable and thread-safe.
 */
public record ClientTls(UpstreamTlsConfig config, SslContext context, SslProvider provider) {

  /** A new client-side handler towards {@code host:port}, sending the configured SNI. */
  public SslHandler newHandler(ByteBufAllocator alloc, String host, int port) {
    // The peer host/port key the session cache; the SNI is set explicitly (it may differ from the host).
    SslHandler h = context.newHandler(alloc, config.sni() != null ? config.sni() : host, port);
    SSLParameters p = h.engine().getSSLParameters();
    if (config.sni() != null) {
      p.setServerNames(java.util.List.of(new SNIHostName(config.sni())));
    } else {
      p.setServerNames(java.util.List.of()); // Envoy sends no SNI unless configured
    }
    h.engine().setSSLParameters(p);
    ServerTls.applyCurves(h.engine(), provider, config.params());
    return h;
  }
}
