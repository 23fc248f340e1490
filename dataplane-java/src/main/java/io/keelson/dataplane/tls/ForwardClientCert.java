package io.keelson.dataplane.tls;

import io.keelson.dataplane.security.PeerIdentity;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AttributeKey;
import java.security.MessageDigest;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.function.BiConsumer;
import java.util.function.Function;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Envoy's {@code forward_client_cert_details} / {@code set_current_client_cert_details}: what a
 * listener does with {@code x-forwarded-client-cert} (XFCC). The current element is
 * {@code By=<this proxy's URI SAN>;Hash=<SHA-256 of the client certificate>;URI=<the client's URI SAN>},
 * computed once per connection. Immutable; {@link #apply} runs on the connection's event loop.
 *
 * @param mode what to do with the header (Envoy's default: SANITIZE)
 * @param uri  add the client's URI SAN to the current element (set_current_client_cert_details.uri)
 */
public record ForwardClientCert(Mode mode, boolean uri) {
  public static final String HEADER = "x-forwarded-client-cert";
  /** Envoy's default: the header is removed. */
  public static final ForwardClientCert DEFAULT = new ForwardClientCert(Mode.SANITIZE, false);
  private static final AttributeKey<String> CURRENT = AttributeKey.valueOf("keelson.xfcc");
  /** {@link #value}: the header is left as it is (compared by identity). */
  private static final String KEEP = new String("keep");
  private static final AttributeKey<String> PEER_URI = AttributeKey.valueOf("keelson.peer-uri");

  /** Envoy's ForwardClientCertDetails. */
  public enum Mode { SANITIZE, FORWARD_ONLY, APPEND_FORWARD, SANITIZE_SET, ALWAYS_FORWARD_ONLY }

  /**
   * Rewrites the request's XFCC for a request that arrived on {@code ch}.
   *
   * @param get    reads a header (lower-case name): all its fields joined with ',' (Envoy treats several
   *               client XFCC fields as one comma-separated list), or null when absent
   * @param set    sets a header (null value: remove)
   */
  public void apply(Channel ch, Function<String, String> get, BiConsumer<String, String> set) {
    String value = value(ch, get, null);
    if (value != KEEP) {
      set.accept(HEADER, value);
    }
  }

  /**
   * As {@link #apply(Channel, Function, BiConsumer)}, on Netty's header model (the HTTP/2 stream
   * path): {@code ch} is the stream's connection, whose TLS session holds the client certificate
   * (an h2c connection has none: the modes act as on plaintext HTTP/1.1). Several client XFCC
   * fields are one comma-separated list, as in Envoy. Allocates only in APPEND_FORWARD (the list and the new value).
   */
  public void apply(Channel ch, HttpHeaders headers) {
    String value = value(ch, null, headers);
    if (value == KEEP) {
      return;
    }
    if (value == null) {
      headers.remove(HEADER);
    } else {
      headers.set(HEADER, value);
    }
  }

  /**
   * The header's new value: null to remove it, {@link #KEEP} to leave it as the client sent it. The
   * client's header is read (from {@code get} or {@code headers}) only by APPEND_FORWARD.
   */
  private String value(Channel ch, Function<String, String> get, HttpHeaders headers) {
    if (mode == Mode.SANITIZE) { // the default: no need to look at the connection's certificates
      return null;
    }
    if (mode == Mode.ALWAYS_FORWARD_ONLY) {
      return KEEP;
    }
    String current = current(ch);
    if (current.isEmpty()) { // no verified client certificate (plaintext, h2c, TLS without one): removed
      return null;
    }
    return switch (mode) {
      case FORWARD_ONLY -> KEEP;
      case APPEND_FORWARD -> {
        String previous = get != null ? get.apply(HEADER) : joined(headers);
        yield previous == null || previous.isEmpty() ? current : previous + "," + current;
      }
      case SANITIZE_SET -> current;
      case SANITIZE, ALWAYS_FORWARD_ONLY -> throw new AssertionError(mode);
    };
  }

  /** The client's XFCC fields as one list (null when absent). */
  private static String joined(HttpHeaders headers) {
    String first = headers.get(HEADER);
    if (first == null) {
      return null;
    }
    java.util.List<String> all = headers.getAll(HEADER);
    return all.size() == 1 ? first : String.join(",", all);
  }

  /** The verified client certificate's SPIFFE URI on {@code ch} (cached per connection), or null. */
  public static String peerSpiffeUri(Channel ch) {
    String cached = ch.attr(PEER_URI).get();
    if (cached == null) {
      X509Certificate peer = peer(ch);
      String uri = peer == null ? null : PeerIdentity.spiffeUri(peer);
      cached = uri == null ? "" : uri;
      ch.attr(PEER_URI).set(cached);
    }
    return cached.isEmpty() ? null : cached;
  }

  private String current(Channel ch) {
    String cached = ch.attr(CURRENT).get();
    if (cached != null) {
      return cached;
    }
    String element = "";
    X509Certificate peer = peer(ch);
    if (peer != null) {
      StringBuilder b = new StringBuilder(160);
      SSLSession session = TlsPipeline.handshakenEngine(ch).getSession();
      Certificate[] local = session.getLocalCertificates();
      String by = local != null && local.length > 0 && local[0] instanceof X509Certificate l ? PeerIdentity.spiffeUri(l) : null;
      if (by != null) {
        b.append("By=").append(by).append(';');
      }
      b.append("Hash=").append(sha256(peer));
      String uri = PeerIdentity.spiffeUri(peer);
      if (this.uri && uri != null) {
        b.append(";URI=").append(uri);
      }
      element = b.toString();
    }
    ch.attr(CURRENT).set(element);
    return element;
  }

  private static X509Certificate peer(Channel ch) {
    SSLEngine engine = TlsPipeline.handshakenEngine(ch);
    if (engine == null) {
      return null;
    }
    if (!engine.getUseClientMode() && !engine.getNeedClientAuth() && !engine.getWantClientAuth()) {
      // A listener that asks for no client certificate has none; asking the session would throw
      // SSLPeerUnverifiedException, a stack trace filled on every TLS connection.
      return null;
    }
    try {
      Certificate[] certs = engine.getSession().getPeerCertificates();
      return certs.length > 0 && certs[0] instanceof X509Certificate x ? x : null;
    } catch (SSLPeerUnverifiedException e) {
      return null;
    }
  }

  private static String sha256(X509Certificate cert) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    } catch (Exception e) {
      return "";
    }
  }
}
