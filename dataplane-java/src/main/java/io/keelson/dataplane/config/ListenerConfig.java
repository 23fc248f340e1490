package io.keelson.dataplane.config;

import io.keelson.dataplane.tls.ServerTls;
import java.util.List;

/**
 * One listener and what runs on it: exactly one of {@code http} and {@code tcpProxy} is non-null, unless the
 * listener selects its filter chains by destination ({@code destinationChains}) or by the protocol its
 * http_inspector detects ({@code protocolChains}) or by server name with different network filters
 * ({@code serverNameChains}), when both are null and each chain is a listener config of its own. Immutable.
 *
 * @param name      Envoy listener name
 * @param host      bind address (IP literal or host name)
 * @param port      bind port (0 = ephemeral, used by tests)
 * @param http      the HTTP connection manager on this listener's filter chain, or null
 * @param tcpProxy  the TCP proxy on this listener's filter chain, or null; on an SNI-routed listener,
 *                  the first chain's (so code that knows only one chain still sees a TCP listener)
 * @param tls       TLS termination (the chain's transport_socket), or null for plaintext
 * @param sniChains tcp_proxy filter chains selected by SNI (tls_inspector + filter_chain_match.server_names),
 *                  each passing TLS through untouched or terminating it with its own context
 *                  ({@link SniChain#tls}); empty for a single-chain listener
 * @param plaintextToo with {@code tls}: a client that does not start with a TLS handshake is served in
 *                  plaintext on the same port (a {@code transport_protocol: tls} chain plus a plaintext
 *                  chain with the same filter; Istio's PERMISSIVE mTLS)
 * @param sniCertificates on an HTTP listener whose TLS chains are selected by SNI: the certificate per
 *                  server name and, for a chain whose connection manager differs from the first chain's,
 *                  that connection manager (then {@code tls} and {@code http} are the first chain's, for code
 *                  that knows one context or one connection manager); empty otherwise
 * @param sourceDigest a digest of the Envoy Listener message this was translated from, its address left out,
 *                  or null for a listener built in code. Envoy compares listener messages to tell an update of
 *                  a listener from a re-push of it; the translated config cannot tell: every translation builds
 *                  new TLS contexts and matchers (not equal to the last ones), and a route config delivered by
 *                  RDS is part of it although it is not part of the listener (see {@link #sameSource})
 * @param protocolChains filter chains selected by the protocol envoy.filters.listener.http_inspector detects
 *                  ({@code filter_chain_match.application_protocols}), each a listener config of its own; or null
 * @param serverNameChains filter chains selected by server name that run different network filters (HTTPS chains
 *                  beside tcp_proxy chains), each a listener config of its own; or null
 * @param proxyProtocol the {@code envoy.filters.listener.proxy_protocol} listener filter, or null: each connection's
 *                  PROXY protocol header is read before anything else runs on it
 */
public record ListenerConfig(
    String name, String host, int port, HttpConnectionManagerConfig http, TcpProxyConfig tcpProxy,
    ServerTls tls, List<SniChain> sniChains, boolean plaintextToo, List<SniCertificate> sniCertificates,
    String sourceDigest, boolean originalDst, boolean useOriginalDst, boolean bindToPort,
    DestinationChains destinationChains, ProtocolChains protocolChains, ServerNameChains serverNameChains,
    ProxyProtocolConfig proxyProtocol) {

  public ListenerConfig {
    sniChains = List.copyOf(sniChains);
    sniCertificates = List.copyOf(sniCertificates);
    int selectors = (destinationChains != null ? 1 : 0) + (protocolChains != null ? 1 : 0)
        + (serverNameChains != null ? 1 : 0);
    boolean chained = selectors > 0;
    if (chained ? http != null || tcpProxy != null || selectors > 1
        : (http == null) == (tcpProxy == null)) {
      throw new IllegalArgumentException("listener '" + name + "' must have exactly one of http and tcpProxy,"
          + " or neither and filter chains selected by destination, by detected protocol or by server name");
    }
  }

  /** A listener translated from a message, without interception or chains selected by destination. */
  public ListenerConfig(
      String name, String host, int port, HttpConnectionManagerConfig http, TcpProxyConfig tcpProxy,
      ServerTls tls, List<SniChain> sniChains, boolean plaintextToo, List<SniCertificate> sniCertificates,
      String sourceDigest) {
    this(name, host, port, http, tcpProxy, tls, sniChains, plaintextToo, sniCertificates, sourceDigest, false, false,
        true, null, null, null, null);
  }

  /** A listener built in code: no source message (see {@link #sameSource}). */
  public ListenerConfig(
      String name, String host, int port, HttpConnectionManagerConfig http, TcpProxyConfig tcpProxy,
      ServerTls tls, List<SniChain> sniChains, boolean plaintextToo, List<SniCertificate> sniCertificates) {
    this(name, host, port, http, tcpProxy, tls, sniChains, plaintextToo, sniCertificates, null);
  }

  /** This listener with the digest of the message it was translated from (see {@link #sourceDigest}). */
  public ListenerConfig withSourceDigest(String digest) {
    return new ListenerConfig(name, host, port, http, tcpProxy, tls, sniChains, plaintextToo, sniCertificates, digest,
        originalDst, useOriginalDst, bindToPort, destinationChains, protocolChains, serverNameChains,
        proxyProtocol);
  }

  /** This listener with the interception settings (see {@link #originalDst}, {@link #useOriginalDst}, {@link #bindToPort}). */
  public ListenerConfig withInterception(boolean originalDst, boolean useOriginalDst, boolean bindToPort) {
    return new ListenerConfig(name, host, port, http, tcpProxy, tls, sniChains, plaintextToo, sniCertificates,
        sourceDigest, originalDst, useOriginalDst, bindToPort, destinationChains, protocolChains, serverNameChains,
        proxyProtocol);
  }

  /** This listener with the proxy_protocol listener filter (see {@link #proxyProtocol}). */
  public ListenerConfig withProxyProtocol(ProxyProtocolConfig proxyProtocol) {
    return new ListenerConfig(name, host, port, http, tcpProxy, tls, sniChains, plaintextToo, sniCertificates,
        sourceDigest, originalDst, useOriginalDst, bindToPort, destinationChains, protocolChains, serverNameChains,
        proxyProtocol);
  }

  /** A listener whose filter chains are selected by destination: each chain is a listener config of its own. */
  public static ListenerConfig withDestinationChains(String name, String host, int port, DestinationChains chains) {
    return new ListenerConfig(name, host, port, null, null, null, List.of(), false, List.of(), null, false, false, true,
        chains, null, null, null);
  }

  /**
   * A listener whose filter chains are selected by the protocol the http_inspector detects: each chain is a listener
   * config of its own.
   */
  public static ListenerConfig withProtocolChains(String name, String host, int port, ProtocolChains chains) {
    return new ListenerConfig(name, host, port, null, null, null, List.of(), false, List.of(), null, false, false, true,
        null, chains, null, null);
  }

  /**
   * A listener whose filter chains are selected by server name and run different network filters (HTTPS beside
   * tcp_proxy): each chain is a listener config of its own.
   */
  public static ListenerConfig withServerNameChains(String name, String host, int port, ServerNameChains chains) {
    return new ListenerConfig(name, host, port, null, null, null, List.of(), false, List.of(), null, false, false, true,
        null, null, chains, null);
  }

  /**
   * This listener and, when it selects chains by destination, each chain's config, and each SNI chain with a
   * connection manager of its own ({@link SniCertificate#servingName}): all of which the snapshot serves by name.
   */
  public List<ListenerConfig> withChains() {
    if (destinationChains == null && protocolChains == null && serverNameChains == null && sniCertificates.stream().allMatch(c -> c.servingName() == null)) {
      return List.of(this);
    }
    List<ListenerConfig> out = new java.util.ArrayList<>();
    out.add(this);
    for (SniCertificate c : sniCertificates) {
      if (c.servingName() != null) { // an SNI chain with a connection manager of its own, served under its name
        out.add(new ListenerConfig(c.servingName(), host, port, c.http(), null, c.tls(), List.of(), false, List.of(),
            sourceDigest));
      }
    }
    if (protocolChains != null) {
      protocolChains.all().forEach(c -> out.addAll(c.withChains()));
    }
    if (serverNameChains != null) {
      serverNameChains.all().forEach(c -> out.addAll(c.withChains()));
    }
    if (destinationChains == null) {
      return out;
    }
    destinationChains.all().forEach(c -> out.addAll(c.withChains()));
    return out;
  }

  /**
   * Whether {@code other} was translated from the same listener message as this one, its address aside: then it
   * is the same listener in Envoy's terms, even when it is not {@link #equals} (new TLS contexts, a route config
   * RDS changed). False when either was built in code.
   */
  public boolean sameSource(ListenerConfig other) {
    return sourceDigest != null && sourceDigest.equals(other.sourceDigest);
  }

  public boolean isHttp() {
    return http != null;
  }
}
