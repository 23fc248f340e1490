package io.keelson.dataplane.tls;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;

/**
 * A cluster's built TLS context for origination: one per config, shared by every upstream
 * connection; the context keeps a client session cache so reconnects to the same host and port
 * resume. An in-mesh cluster (its ALPN offers {@value #ISTIO_ALPN}) has a second one, {@code http}, for its HTTP
 * connections ({@link #forHttp}): they offer {@code istio-http/1.1} (or {@code istio-h2}) first, as istiod's
 * {@code istio.alpn} filter makes Envoy do, while its tcp_proxy connections offer the cluster's ALPN; the destination
 * sidecar picks its HTTP or TCP chain of a port with no declared protocol by that. Immutable and thread-safe.
 *
 * @param http          the context for HTTP connections, or null when they use this one
 * @param servedSecrets the SDS slots the context reads (a DestinationRule credentialName's); a connection before all
 *                      of them arrived fails ({@link TlsPipeline#clientHandshake}), as Envoy's
 *                      {@code upstream_context_secrets_not_ready}
 */
public record ClientTls(UpstreamTlsConfig config, SslContext context, SslProvider provider, ClientTls http,
    List<ListenerSecret> servedSecrets) {
  /** The ALPN name istiod gives in-mesh clusters ({@code ALPNInMesh}). */
  public static final String ISTIO_ALPN = "istio";
  /** What the istio.alpn filter offers for HTTP/1.1 requests; the destination's HTTP chain matches it. */
  public static final List<String> ISTIO_HTTP11 = List.of("istio-http/1.1", ISTIO_ALPN, "http/1.1");
  /** What the istio.alpn filter offers for HTTP/2 requests. */
  public static final List<String> ISTIO_H2 = List.of("istio-h2", ISTIO_ALPN, "h2");

  public ClientTls(UpstreamTlsConfig config, SslContext context, SslProvider provider) {
    this(config, context, provider, null);
  }

  public ClientTls(UpstreamTlsConfig config, SslContext context, SslProvider provider, ClientTls http) {
    this(config, context, provider, http, List.of());
  }

  /** This TLS (and its HTTP one) reading {@code secrets}. */
  ClientTls withServedSecrets(List<ListenerSecret> secrets) {
    return new ClientTls(config, context, provider, http == null ? null : http.withServedSecrets(secrets), secrets);
  }

  /** Whether every served secret it reads has arrived. */
  public boolean secretsReady() {
    for (ListenerSecret s : servedSecrets) {
      if (!s.delivered()) {
        return false;
      }
    }
    return true;
  }

  /** The ALPN an in-mesh cluster's HTTP connections offer: {@link #ISTIO_H2} when it speaks HTTP/2 (offers h2). */
  public static List<String> meshHttpAlpn(List<String> clusterAlpn) {
    return clusterAlpn.contains("h2") ? ISTIO_H2 : ISTIO_HTTP11;
  }

  /** True for an in-mesh cluster's TLS (its ALPN offers {@value #ISTIO_ALPN}): Istio's metadata exchange applies. */
  public static boolean inMesh(ClientTls tls) {
    return tls != null && tls.http != null;
  }

  /** The TLS of this cluster's HTTP connections. */
  public ClientTls forHttp() {
    return http == null ? this : http;
  }

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
