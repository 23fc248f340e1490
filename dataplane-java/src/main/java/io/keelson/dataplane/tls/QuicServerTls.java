package io.keelson.dataplane.tls;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.SniCertificate;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.ssl.ClientAuth;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An HTTP/3 listener's TLS context (QUIC's BoringSSL, TLS 1.3 only, ALPN {@code h3}) from the credentials of the
 * listener's translated {@link ServerTls}: the same certificate (SDS rotations included: the key manager picks the
 * current one per handshake) and the same client certificate verification. A listener with chains selected by server
 * name gets one context per chain, chosen by the ClientHello's SNI in {@link SniCertificate#select}'s order (the
 * chain without names, when there is one, also serves clients that send none; otherwise they fail the handshake, as
 * Envoy's "no filter chain match"). Client CAs served over SDS scope session resumption as on TCP: after they rotate,
 * a session verified by the old ones does a full handshake ({@link SessionResumption}). Stateless.
 */
public final class QuicServerTls {
  private QuicServerTls() {}

  public static QuicSslContext context(ListenerConfig listener) {
    if (listener.sniCertificates().isEmpty()) {
      return context(listener.tls());
    }
    Map<SniCertificate, QuicSslContext> byChain = new LinkedHashMap<>();
    listener.sniCertificates().forEach(c -> byChain.put(c, context(c.tls())));
    SniCertificate unnamed = SniCertificate.select(listener.sniCertificates(), null);
    io.netty.util.Mapping<String, QuicSslContext> bySni = sni -> {
      SniCertificate chosen = SniCertificate.select(listener.sniCertificates(), sni);
      return chosen == null ? null : byChain.get(chosen);
    };
    if (unnamed == null) {
      return QuicSslContextBuilder.buildForServerWithSni(bySni);
    }
    return builder(unnamed.tls()).sni(bySni).build();
  }

  public static QuicSslContext context(ServerTls tls) {
    QuicSslContext context = builder(tls).build();
    ListenerSecret cas = tls.credentials().clientCas();
    if (cas != null) { // an SDS CA rotation must not let sessions verified by the old CAs resume, as on TCP
      cas.bindSessions(context);
    }
    return context;
  }

  /**
   * Rotates the QUIC contexts' session-ticket keys at each epoch's start ({@link SessionResumption#rotateQuicTicketKeys})
   * on {@code loop}, until {@code until} completes (a listener's socket closing: nothing is left scheduled).
   */
  public static void rotateTicketKeysOn(io.netty.util.concurrent.EventExecutor loop,
      io.netty.util.concurrent.Future<?> until) {
    new TicketKeyRotation(loop, until).schedule();
  }

  /** The timer task of {@link #rotateTicketKeysOn}: one scheduled at a time, cancelled when its listener closes. */
  private static final class TicketKeyRotation {
    private final io.netty.util.concurrent.EventExecutor loop;
    private final io.netty.util.concurrent.Future<?> until;
    private volatile io.netty.util.concurrent.Future<?> next;

    TicketKeyRotation(io.netty.util.concurrent.EventExecutor loop, io.netty.util.concurrent.Future<?> until) {
      this.loop = loop;
      this.until = until;
      until.addListener(f -> cancel());
    }

    void schedule() { // a second late: the new epoch has begun on every clock reading
      next = loop.schedule(this::rotate, SessionResumption.millisToNextQuicKeyRotation() + 1000,
          java.util.concurrent.TimeUnit.MILLISECONDS);
      if (until.isDone()) {
        cancel();
      }
    }

    private void rotate() {
      SessionResumption.rotateQuicTicketKeys();
      schedule();
    }

    private void cancel() {
      var n = next;
      if (n != null) {
        n.cancel(false);
      }
    }
  }

  private static QuicSslContextBuilder builder(ServerTls tls) {
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
    return b;
  }
}
