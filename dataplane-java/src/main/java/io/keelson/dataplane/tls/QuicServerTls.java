package io.keelson.dataplane.tls;

import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.ssl.ClientAuth;

/**
 * An HTTP/3 listener's TLS context (QUIC's BoringSSL, TLS 1.3 only, ALPN {@code h3}) from the credentials of the
 * listener's translated {@link ServerTls}: the same certificate (SDS rotations included: the key manager picks the
 * current one per handshake) and the same client certificate verification. Stateless.
 */
public final class QuicServerTls {
  private QuicServerTls() {}

  public static QuicSslContext context(ServerTls tls) {
    ServerCredentials c = tls.credentials();
    if (c == null) {
      throw new IllegalArgumentException("the listener's TLS context was built without its credentials");
    }
    QuicSslContextBuilder b = QuicSslContextBuilder.forServer(c.keys(), null)
        .applicationProtocols(Http3.supportedApplicationProtocols())
        .sessionCacheSize(TlsContexts.SESSION_CACHE_SIZE)
        .sessionTimeout(TlsContexts.SESSION_TIMEOUT_SECONDS);
    if (c.clientTrust() != null) {
      b.trustManager(c.clientTrust()).clientAuth(c.requireClientCert() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
    }
    return b.build();
  }
}
