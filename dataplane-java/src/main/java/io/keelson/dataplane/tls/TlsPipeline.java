package io.keelson.dataplane.tls;

import io.keelson.dataplane.stats.TlsStats;
import io.keelson.dataplane.tls.offload.FallbackReason;
import io.keelson.dataplane.tls.offload.TlsOffload;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.util.Locale;

/**
 * Puts TLS in front of a connection's pipeline and counts handshakes. Stateless; the handlers it
 * adds are per connection and event-loop confined.
 */
public final class TlsPipeline {
  /** Name of the TLS handler in a pipeline. */
  public static final String TLS_HANDLER = "tls";
  /** The TLS-or-plaintext detector of a PERMISSIVE listener, until the first bytes decide. */
  public static final String TLS_DETECT = "tls-detect";
  /**
   * User event a TLS-or-plaintext connection fires once its first bytes have decided: the SslHandler is
   * then in the pipeline (TLS), or not (plaintext).
   */
  public static final Object DETECTED = new Object() {
    @Override
    public String toString() {
      return "TlsPipeline.DETECTED";
    }
  };
  /** Name the HTTP/1.1 handler must have on a TLS listener, so {@link AlpnHook#install} can replace it. */
  public static final String HTTP_HANDLER = "http";

  /** Set on a connection whose TLS record layer moved to the kernel (its SslHandler has left the pipeline). */
  public static final io.netty.util.AttributeKey<Boolean> KERNEL_TLS = io.netty.util.AttributeKey.valueOf("keelson.ktls");

  private TlsPipeline() {}

  /**
   * Whether {@code ch} carries TLS: a TLS handler in its pipeline or its records in the kernel. Settled for a
   * connection once its first request arrives (a PERMISSIVE listener has decided by then). Call on its event loop.
   */
  public static boolean isTls(Channel ch) {
    return ch.pipeline().get(SslHandler.class) != null || Boolean.TRUE.equals(ch.attr(KERNEL_TLS).get())
        || ch instanceof io.netty.handler.codec.quic.QuicChannel; // QUIC always runs TLS 1.3
  }

  /**
   * The engine of the TLS session that terminated {@code ch} once its handshake succeeded: its SslHandler's, or a QUIC
   * connection's own (HTTP/3 stream channels: pass the stream's parent); null for plaintext, kTLS (the handler left)
   * or before the handshake. Call on its event loop.
   */
  public static javax.net.ssl.SSLEngine handshakenEngine(Channel ch) {
    SslHandler ssl = ch.pipeline().get(SslHandler.class);
    if (ssl != null) {
      return ssl.handshakeFuture().isSuccess() ? ssl.engine() : null;
    }
    // A server QuicChannel turns active when its handshake completes.
    return ch instanceof io.netty.handler.codec.quic.QuicChannel quic && quic.isActive() ? quic.sslEngine() : null;
  }

  /** Adds server-side TLS as the first handlers of an accepted connection. */
  public static void addServer(Channel ch, ServerTls tls, TlsStats stats, String listenerName) {
    addServer(ch, tls, stats, listenerName, TlsOffload.DISABLED);
  }

  /**
   * Adds server-side TLS as the first handlers of an accepted connection; where {@code offload} allows, its
   * record layer moves to the kernel after the handshake (see {@link TlsOffload#attach}).
   */
  public static void addServer(Channel ch, ServerTls tls, TlsStats stats, String listenerName, TlsOffload offload) {
    SslHandler ssl = tls.newHandler(ch.alloc());
    ch.pipeline().addLast(TLS_HANDLER, ssl);
    ch.pipeline().addLast(FlushGate.NAME, new FlushGate());
    FallbackReason fallback = offload.attach(ch, ssl, tls.context());
    ch.pipeline().addLast("tls-handshake", new HandshakeObserver(stats, listenerName, true, offload, fallback));
  }

  /**
   * Adds server-side TLS right after the handler named {@code after} of a connection already set up (a tcp_proxy
   * chain chosen by SNI that terminates TLS, its ClientHello still held by that handler); the connection stays in user
   * space (kernel offload is decided before any byte is read; counted as {@link FallbackReason#LISTENER}).
   */
  public static void addServerAfter(io.netty.channel.ChannelPipeline pipeline, String after, ServerTls tls,
      TlsStats stats, String listenerName, TlsOffload offload) {
    pipeline.addAfter(after, TLS_HANDLER, tls.newHandler(pipeline.channel().alloc()));
    pipeline.addAfter(TLS_HANDLER, FlushGate.NAME, new FlushGate());
    pipeline.addAfter(FlushGate.NAME, "tls-handshake", new HandshakeObserver(stats, listenerName, true, offload,
        offload.reasonBeforeHandshake(FallbackReason.LISTENER)));
  }

  /**
   * Adds server-side TLS whose certificate is chosen per connection by the ClientHello's server name
   * (an HTTP listener with SNI-selected TLS chains).
   */
  public static void addServerBySni(Channel ch, java.util.List<io.keelson.dataplane.config.SniCertificate> certificates,
      TlsStats stats, String listenerName) {
    addServerBySni(ch, certificates, stats, listenerName, TlsOffload.DISABLED);
  }

  /** {@link #addServerBySni}; such connections stay in user space (counted as {@link FallbackReason#LISTENER}). */
  public static void addServerBySni(Channel ch, java.util.List<io.keelson.dataplane.config.SniCertificate> certificates,
      TlsStats stats, String listenerName, TlsOffload offload) {
    ch.pipeline().addLast("tls-sni", new SniCertificateHandler(certificates));
    ch.pipeline().addLast(FlushGate.NAME, new FlushGate());
    ch.pipeline().addLast("tls-handshake", new HandshakeObserver(stats, listenerName, true, offload,
        offload.reasonBeforeHandshake(FallbackReason.LISTENER)));
  }

  /**
   * Adds TLS or plaintext (PERMISSIVE): a connection whose first bytes are not a TLS record stays
   * plaintext, otherwise the TLS handler replaces the detector.
   */
  public static void addServer(Channel ch, ServerTls tls, TlsStats stats, String listenerName, boolean plaintextToo) {
    addServer(ch, tls, stats, listenerName, plaintextToo, TlsOffload.DISABLED);
  }

  /**
   * {@link #addServer(Channel, ServerTls, TlsStats, String, boolean)} with kernel TLS offload where allowed; a
   * TLS-or-plaintext connection stays in user space (counted as {@link FallbackReason#LISTENER}).
   */
  public static void addServer(Channel ch, ServerTls tls, TlsStats stats, String listenerName, boolean plaintextToo,
      TlsOffload offload) {
    addServer(ch, tls, stats, listenerName, plaintextToo, offload, null);
  }

  /**
   * @param plaintext with {@code plaintextToo}, what takes the detector's place when a connection turns out plaintext
   *                  (an HTTP listener's h2c detector), or null to just remove it
   */
  public static void addServer(Channel ch, ServerTls tls, TlsStats stats, String listenerName, boolean plaintextToo,
      TlsOffload offload, java.util.function.Supplier<ChannelHandler> plaintext) {
    if (!plaintextToo) {
      addServer(ch, tls, stats, listenerName, offload);
      return;
    }
    ch.pipeline().addLast(TLS_DETECT, new io.netty.handler.ssl.OptionalSslHandler(tls.context()) {
      @Override
      protected SslHandler newSslHandler(ChannelHandlerContext context, io.netty.handler.ssl.SslContext ctx) {
        return tls.newHandler(context.alloc());
      }

      @Override
      protected void handlerRemoved0(ChannelHandlerContext context) {
        // Replaced by the SslHandler, or removed for plaintext (its buffered bytes already passed on).
        context.fireUserEventTriggered(DETECTED);
      }

      @Override
      protected String newSslHandlerName() {
        return TLS_HANDLER;
      }

      @Override
      protected ChannelHandler newNonSslHandler(ChannelHandlerContext context) {
        return plaintext == null ? null : plaintext.get();
      }
    });
    ch.pipeline().addLast(FlushGate.NAME, new FlushGate());
    ch.pipeline().addLast("tls-handshake", new HandshakeObserver(stats, listenerName, true, offload,
        offload.reasonBeforeHandshake(FallbackReason.LISTENER)));
  }

  /** Adds client-side TLS as the first handlers of an upstream connection; returns the TLS handler. */
  public static SslHandler addClient(Channel ch, ClientTls tls, TlsStats stats, String host, int port) {
    SslHandler ssl = tls.newHandler(ch.alloc(), host, port);
    ch.pipeline().addFirst("tls-handshake", new HandshakeObserver(stats, null, false, TlsOffload.DISABLED, null));
    ch.pipeline().addFirst(FlushGate.NAME, new FlushGate());
    ch.pipeline().addFirst(TLS_HANDLER, ssl);
    return ssl;
  }

  /** Envoy's failure reason for a connection whose served secrets have not arrived. */
  public static final String SECRETS_NOT_READY = "Secret is not supplied by SDS";

  /**
   * The connected upstream channel's handshake: {@code ssl}'s, or, when a served secret {@code tls} reads has not
   * arrived, a failure at once (the connection closed, {@code client_ssl_socket_factory.upstream_context_secrets_not_ready}
   * counted), as Envoy's NotReadySslSocket: never a handshake without the certificate or CA the config names.
   */
  public static io.netty.util.concurrent.Future<Channel> clientHandshake(Channel ch, SslHandler ssl, ClientTls tls,
      TlsStats stats) {
    if (tls.secretsReady()) {
      return ssl.handshakeFuture();
    }
    stats.secretsNotReady.increment();
    ch.close();
    return ch.eventLoop().newFailedFuture(new javax.net.ssl.SSLHandshakeException(SECRETS_NOT_READY));
  }

  /** Envoy's words for why a handshake failed, for local replies and logs. */
  public static String failureReason(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof SanCheckingTrustManager.SanMismatchException) {
        return "TLS_error: CERTIFICATE_VERIFY_FAILED (SAN mismatch: " + t.getMessage() + ")";
      }
      if (t instanceof CertificateException || t instanceof CertPathValidatorException) {
        return "TLS_error: CERTIFICATE_VERIFY_FAILED (" + t.getMessage() + ")";
      }
    }
    return "TLS_error: " + cause.getMessage();
  }

  /** Counts the outcome of the handshake, runs the ALPN hook, then leaves the pipeline. */
  static final class HandshakeObserver extends ChannelInboundHandlerAdapter {
    private final TlsStats stats;
    private final String listenerName;
    private final boolean server;
    private final TlsOffload offload;
    /** Counted as this connection's offload fallback once the handshake succeeds; null for none. */
    private final FallbackReason offloadFallback;

    HandshakeObserver(TlsStats stats, String listenerName, boolean server, TlsOffload offload,
        FallbackReason offloadFallback) {
      this.stats = stats;
      this.listenerName = listenerName;
      this.server = server;
      this.offload = offload;
      this.offloadFallback = offloadFallback;
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof SslHandshakeCompletionEvent e) {
        ctx.pipeline().remove(this);
        if (e.isSuccess()) {
          stats.handshake.increment();
          offload.countFallback(offloadFallback);
          if (server) {
            String protocol = ctx.pipeline().get(SslHandler.class).applicationProtocol();
            if (protocol != null && !protocol.equals("http/1.1") && AlpnHook.current().protocols().contains(protocol)) {
              AlpnHook.current().install(ctx.pipeline(), protocol, listenerName);
            }
          }
        } else {
          count(e.cause());
        }
      }
      ctx.fireUserEventTriggered(evt);
    }

    private void count(Throwable cause) {
      stats.connectionError.increment();
      for (Throwable t = cause; t != null; t = t.getCause()) {
        if (t instanceof SanCheckingTrustManager.SanMismatchException) {
          stats.failVerifySan.increment();
          return;
        }
        if (t instanceof CertificateException || t instanceof CertPathValidatorException) {
          stats.failVerifyError.increment();
          return;
        }
        String m = String.valueOf(t.getMessage()).toLowerCase(Locale.ROOT);
        if (m.contains("peer_did_not_return_a_certificate") || m.contains("empty client certificate chain")
            || m.contains("empty certificate chain")) {
          stats.failVerifyNoCert.increment();
          return;
        }
      }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.fireExceptionCaught(cause);
    }
  }
}
