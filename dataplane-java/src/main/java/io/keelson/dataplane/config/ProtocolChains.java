package io.keelson.dataplane.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A listener's filter chains selected by the application protocol Envoy's {@code envoy.filters.listener.http_inspector}
 * detects in the first bytes ({@code http/1.0}, {@code http/1.1}, {@code h2c}, or none), as
 * {@code filter_chain_match.application_protocols}: the first chain that names the detected protocol, else the first
 * chain that names none (Istio's tcp_proxy chain of a port with no declared protocol), else none (the connection is
 * closed). Each chain is a listener config of its own. With chains for {@code transport_protocol: tls} (Istio's
 * inbound chains of an auto port under mTLS, the listener runs {@code envoy.filters.listener.tls_inspector} too), a
 * connection that starts with a TLS ClientHello is {@value #TLS} and its protocols are the ALPN names it offers, any
 * other is {@value #RAW_BUFFER} with what the http_inspector detected; as Envoy, a chain naming the connection's
 * transport protocol is chosen over one naming none, then a chain sharing a protocol over one naming none. Immutable.
 *
 * @param chains            the chains, in source order
 * @param timeout           the listener's {@code listener_filters_timeout}: how long the inspector waits for bytes that
 *                          decide; {@link Duration#ZERO} waits without bound (Envoy: 0 disables the timeout)
 * @param continueOnTimeout {@code continue_on_listener_filters_timeout}: at the timeout the connection is served by the
 *                          chain for no detected protocol (a server-first protocol, whose client sends nothing, works);
 *                          false closes it
 */
public record ProtocolChains(List<Entry> chains, Duration timeout, boolean continueOnTimeout) {
  /** What the http_inspector reports for an HTTP/1.0 request line (Envoy's name). */
  public static final String HTTP10 = "http/1.0";
  /** What the http_inspector reports for an HTTP/1.1 request line. */
  public static final String HTTP11 = "http/1.1";
  /** What the http_inspector reports for the HTTP/2 prior-knowledge preface. */
  public static final String H2C = "h2c";
  /**
   * Every protocol the http_inspector reports, in Envoy's (and istiod's) order: what an HTTP chain lists in
   * {@code application_protocols}, and all a chain may list.
   */
  public static final List<String> HTTP_PROTOCOLS = List.of(HTTP10, HTTP11, H2C);
  /** The transport protocol the tls_inspector reports for a connection that starts with a TLS ClientHello. */
  public static final String TLS = "tls";
  /** The transport protocol of any other connection. */
  public static final String RAW_BUFFER = "raw_buffer";

  /**
   * @param transportProtocol    {@link #TLS}, {@link #RAW_BUFFER}, or empty for any
   * @param applicationProtocols the protocols this chain is for (ALPN names for TLS); empty for any (the chain for
   *                             "none detected")
   * @param chain                what serves the matching connections (a TLS chain terminates TLS itself)
   */
  public record Entry(String transportProtocol, List<String> applicationProtocols, ListenerConfig chain) {
    public Entry {
      applicationProtocols = List.copyOf(applicationProtocols);
      if (!transportProtocol.isEmpty() && !transportProtocol.equals(TLS) && !transportProtocol.equals(RAW_BUFFER)) {
        throw new IllegalArgumentException("transport_protocol '" + transportProtocol + "'; expected tls, raw_buffer or none");
      }
    }

    /** A chain for any transport protocol. */
    public Entry(List<String> applicationProtocols, ListenerConfig chain) {
      this("", applicationProtocols, chain);
    }
  }

  public ProtocolChains {
    chains = List.copyOf(chains);
    if (timeout == null || timeout.isNegative()) {
      throw new IllegalArgumentException("listener_filters_timeout must be zero or positive, not " + timeout);
    }
  }

  /** The chain for a plaintext connection whose detected protocol is {@code detected} (null: none), or null. */
  public ListenerConfig select(String detected) {
    return select(RAW_BUFFER, detected == null ? List.of() : List.of(detected));
  }

  /**
   * The chain for a connection of {@code transport} ({@link #TLS} or {@link #RAW_BUFFER}) offering {@code protocols}
   * (its ALPN names, or the one the http_inspector detected), or null. Envoy's order: the chains naming that transport
   * protocol if any does (no falling back to the others, as Envoy's match tree), else those naming none; among them
   * for the first of {@code protocols} (in the client's order) that some chain names, the first chain naming it; else
   * the first naming no protocol.
   */
  public ListenerConfig select(String transport, List<String> protocols) {
    String wanted = "";
    for (Entry e : chains) {
      if (e.transportProtocol().equals(transport)) {
        wanted = transport;
        break;
      }
    }
    for (int i = 0; i < protocols.size(); i++) { // the client's order first, as Envoy's ALPN lookup
      String p = protocols.get(i);
      for (Entry e : chains) {
        if (e.transportProtocol().equals(wanted) && e.applicationProtocols().contains(p)) {
          return e.chain();
        }
      }
    }
    for (Entry e : chains) {
      if (e.transportProtocol().equals(wanted) && e.applicationProtocols().isEmpty()) {
        return e.chain();
      }
    }
    return null;
  }

  /** Whether some chain is for TLS connections: the first bytes are read as a ClientHello when they start one. */
  public boolean inspectsTls() {
    for (Entry e : chains) {
      if (e.transportProtocol().equals(TLS)) {
        return true;
      }
    }
    return false;
  }

  /** Every chain config, in source order. */
  public List<ListenerConfig> all() {
    List<ListenerConfig> out = new ArrayList<>();
    chains.forEach(e -> out.add(e.chain()));
    return out;
  }
}
