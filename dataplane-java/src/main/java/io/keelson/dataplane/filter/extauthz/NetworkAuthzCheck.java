package io.keelson.dataplane.filter.extauthz;

import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.keelson.dataplane.filter.DynamicMetadata;
import io.keelson.dataplane.filter.SideCall;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.security.PeerIdentity;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * One {@code envoy.filters.network.ext_authz} filter of a tcp_proxy chain: a unary gRPC Check per downstream connection
 * (after its TLS handshake), with the attributes Envoy fills for a network check: source and destination address and
 * port, the source principal (the verified client certificate's URI SAN, else its subject) and the destination
 * principal (this listener's certificate's), optionally the client certificate (URL-encoded PEM) and the SNI. An OK
 * answer lets the connection through; any other status closes it; a failed call (no cluster or endpoint, transport,
 * timeout, gRPC error, bad answer) closes it unless failure_mode_allow. Counts Envoy's {@code ext_authz.<stat_prefix>.}
 * {@code total / ok / denied / error / failure_mode_allowed / disabled / cx_closed} and the {@code active} gauge.
 * Immutable and shared by the chain's connections (counters are thread-safe); {@link #check} runs on the connection's
 * event loop and never blocks.
 */
public final class NetworkAuthzCheck {
  private final NetworkExtAuthzConfig config;
  private final LongAdder total;
  private final LongAdder ok;
  private final LongAdder denied;
  private final LongAdder error;
  private final LongAdder failureModeAllowed;
  private final LongAdder disabled;
  private final LongAdder cxClosed;
  private final AtomicLong active;

  public NetworkAuthzCheck(NetworkExtAuthzConfig config, StatsRegistry stats) {
    this.config = config;
    String p = "ext_authz." + config.statPrefix() + (config.statPrefix().endsWith(".") ? "" : ".");
    this.total = stats.counter(p + "total");
    this.ok = stats.counter(p + "ok");
    this.denied = stats.counter(p + "denied");
    this.error = stats.counter(p + "error");
    this.failureModeAllowed = stats.counter(p + "failure_mode_allowed");
    this.disabled = stats.counter(p + "disabled");
    this.cxClosed = stats.counter(p + "cx_closed");
    this.active = stats.gauge(p + "active");
  }

  /**
   * Whether this filter checks a connection whose earlier network filters left {@code metadata} (filter_enabled_metadata;
   * always without it); counts {@code disabled} when it does not.
   */
  public boolean enabled(DynamicMetadata metadata) {
    if (config.enabledMetadata() == null || config.enabledMetadata().matches(metadata)) {
      return true;
    }
    disabled.increment();
    return false;
  }

  /** Whether the matcher reads earlier filters' metadata (else {@link #enabled} may be given null). */
  public boolean needsMetadata() {
    return config.enabledMetadata() != null;
  }

  /**
   * Starts the check of the downstream connection {@code ch} (on its event loop, after any TLS handshake).
   * {@code done} gets {@code true} (go on to tcp_proxy) or {@code false} (close the connection: counted in
   * {@code cx_closed}) exactly once on the event loop, unless the returned call is cancelled first (the client left).
   *
   * @param calls where the side call goes: the event loop's upstream channels
   * @param sni   the ClientHello's server name when known, else null
   */
  public UpstreamCalls.Call check(Channel ch, UpstreamCalls calls, ServingSnapshot snapshot, String sni,
      Consumer<Boolean> done) {
    total.increment();
    active.incrementAndGet();
    boolean[] ended = {false};
    Consumer<Boolean> finish = allowed -> {
      if (!ended[0]) {
        ended[0] = true;
        active.decrementAndGet();
        if (!allowed) {
          cxClosed.increment();
        }
        done.accept(allowed);
      }
    };
    UpstreamCalls.Call call = SideCall.send(ch.eventLoop(), calls, snapshot, config.cluster(), config.timeoutNanos(),
        ExtAuthzConfig.MAX_RESPONSE_BODY_BYTES,
        () -> GrpcCheckCall.request(checkRequest(ch, sni), config.authority(), config.timeoutNanos()),
        this::answer, this::failure, finish);
    return () -> {
      if (!ended[0]) {
        ended[0] = true;
        active.decrementAndGet();
        call.cancel();
      }
    };
  }

  private Boolean answer(UpstreamCalls.Response response) {
    CheckResponse r = GrpcCheckCall.response(response);
    if (r == null) {
      return failure();
    }
    if (r.getStatus().getCode() == 0) {
      ok.increment();
      return Boolean.TRUE;
    }
    denied.increment();
    return Boolean.FALSE;
  }

  private Boolean failure() {
    error.increment();
    if (config.failureModeAllow()) {
      failureModeAllowed.increment();
      return Boolean.TRUE;
    }
    return Boolean.FALSE;
  }

  CheckRequest checkRequest(Channel ch, String sni) {
    AttributeContext.Peer.Builder source = AttributeContext.Peer.newBuilder();
    if (io.keelson.dataplane.intercept.RemoteAddress.of(ch) instanceof InetSocketAddress remote) {
      source.setAddress(GrpcCheckCall.address(remote));
    }
    AttributeContext.Peer.Builder destination = AttributeContext.Peer.newBuilder();
    InetSocketAddress local = io.keelson.dataplane.intercept.OriginalDestination.localAddress(ch);
    if (local != null) {
      destination.setAddress(GrpcCheckCall.address(local));
    }
    AttributeContext.Builder attributes = AttributeContext.newBuilder();
    SslHandler ssl = ch.pipeline().get(SslHandler.class);
    if (ssl != null && ssl.handshakeFuture().isSuccess()) {
      SSLSession session = ssl.engine().getSession();
      X509Certificate peer = peerCertificate(ssl.engine(), session);
      if (peer != null) {
        source.setPrincipal(principal(peer));
        if (config.includePeerCertificate()) {
          source.setCertificate(pem(peer));
        }
      }
      Certificate[] mine = session.getLocalCertificates();
      if (mine != null && mine.length > 0 && mine[0] instanceof X509Certificate x) {
        destination.setPrincipal(principal(x));
      }
    }
    if (config.includeTlsSession() && sni != null) {
      attributes.setTlsSession(AttributeContext.TLSSession.newBuilder().setSni(sni));
    }
    return CheckRequest.newBuilder().setAttributes(attributes.setSource(source).setDestination(destination)).build();
  }

  /** As Envoy: the certificate's first URI SAN (the SPIFFE ID in a mesh), else its subject. */
  private static String principal(X509Certificate cert) {
    String uri = PeerIdentity.spiffeUri(cert);
    return uri != null ? uri : cert.getSubjectX500Principal().getName();
  }

  private static X509Certificate peerCertificate(SSLEngine engine, SSLSession session) {
    if (!engine.getNeedClientAuth() && !engine.getWantClientAuth()) {
      return null; // no client certificate was asked for: asking the session would throw
    }
    try {
      Certificate[] certs = session.getPeerCertificates();
      return certs.length > 0 && certs[0] instanceof X509Certificate x ? x : null;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  /** The certificate as URL-encoded PEM, as Envoy's include_peer_certificate sends it. */
  private static String pem(X509Certificate cert) {
    try {
      String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(cert.getEncoded());
      String pem = "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n";
      return URLEncoder.encode(pem, StandardCharsets.UTF_8).replace("+", "%20");
    } catch (CertificateEncodingException e) {
      return "";
    }
  }
}
