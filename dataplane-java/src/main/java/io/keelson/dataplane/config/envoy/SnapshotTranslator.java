package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Any;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.dataplane.config.AdminConfig;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.DestinationChains;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.HttpFilterConfig;
import io.keelson.dataplane.config.HttpLimits;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.config.SniChain;
import io.keelson.dataplane.config.TcpProxyConfig;
import io.keelson.dataplane.rbac.NetworkRbacConfig;
import io.keelson.dataplane.tls.ServerTls;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Translates static_resources.listeners (an HTTP connection manager or a TCP proxy each), checks
 * that every cluster a route or TCP proxy names exists and can be balanced there, and reads the admin
 * address. Used by one thread.
 */
final class SnapshotTranslator {
  /** Envoy's default downstream idle timeout for HTTP connections. */
  static final Duration DEFAULT_HTTP_IDLE_TIMEOUT = Duration.ofHours(1);

  private final Problems problems;
  private final RouteTranslator routes;
  private final TlsTranslator tlsTranslator;
  /** Clusters named by tcp_proxy filters, with where they are named. */
  private final List<RouteTranslator.ClusterReference> tcpReferences = new ArrayList<>();
  /** The UDP listeners {@link #listeners} translated (they are served apart from the TCP ones). */
  private final List<io.keelson.dataplane.config.UdpListenerConfig> udpListeners = new ArrayList<>();
  /** The HTTP/3 listeners {@link #listeners} translated, by name (in its result too; bound over QUIC, not TCP). */
  private final Map<String, io.keelson.dataplane.config.QuicOptions> quicListeners = new LinkedHashMap<>();
  /** While a QUIC listener's connection manager is translated: codec_type HTTP3 is its codec. */
  private boolean translatingQuic;
  /**
   * The clusters of tcp_proxies with tunneling_config: none may send PROXY protocol (tunnels never write the header);
   * with use_post each must be an HTTP/2 cluster.
   */
  private final List<TunnelReference> tunnelReferences = new ArrayList<>();

  private record TunnelReference(RouteTranslator.ClusterReference ref, boolean usePost) {}

  /** Route configurations delivered by RDS, by name; null when there is no xDS source (rds is rejected). */
  private final Map<String, io.envoyproxy.envoy.config.route.v3.RouteConfiguration> rdsRoutes;

  SnapshotTranslator(Problems problems) {
    this(problems, null);
  }

  SnapshotTranslator(Problems problems, Map<String, io.envoyproxy.envoy.config.route.v3.RouteConfiguration> rdsRoutes) {
    this.problems = problems;
    this.routes = new RouteTranslator(problems);
    this.tlsTranslator = new TlsTranslator(problems);
    this.rdsRoutes = rdsRoutes;
  }

  /** Envoy's runtime key: streams closed on a connection before its premature resets are checked. */
  static final String PREMATURE_RESET_TOTAL_STREAM_COUNT = "overload.premature_reset_total_stream_count";
  /** Envoy's runtime key: a stream reset after living more than this many whole seconds is not premature. */
  static final String PREMATURE_RESET_MIN_STREAM_LIFETIME_SECONDS = "overload.premature_reset_min_stream_lifetime_seconds";

  /** The HTTP/2 defaults of every connection manager: Keelson's, with the runtime's premature-reset keys applied. */
  private io.keelson.dataplane.config.Http2Options http2Defaults = io.keelson.dataplane.config.Http2Options.DEFAULT;

  /** The HTTP/2 defaults {@link #runtime} computed (Keelson's when the bootstrap has no runtime). */
  io.keelson.dataplane.config.Http2Options http2Defaults() {
    return http2Defaults;
  }

  /**
   * Uses HTTP/2 defaults already read from a bootstrap's runtime (xDS: the runtime is process-wide, so
   * connection managers delivered by LDS get the bootstrap's values). Call before {@link #listeners}.
   */
  void http2Defaults(io.keelson.dataplane.config.Http2Options defaults) {
    this.http2Defaults = java.util.Objects.requireNonNull(defaults, "defaults");
  }

  /**
   * Reads the bootstrap's {@code layered_runtime}: the static layers' {@value #PREMATURE_RESET_TOTAL_STREAM_COUNT}
   * and {@value #PREMATURE_RESET_MIN_STREAM_LIFETIME_SECONDS} (a later layer overrides an earlier one, as in
   * Envoy); other keys are ignored with a warning. Call before {@link #listeners}.
   */
  void runtime(Bootstrap bootstrap) {
    if (!bootstrap.hasLayeredRuntime()) {
      return;
    }
    int total = http2Defaults.prematureResetTotalStreamCount();
    long lifetime = http2Defaults.prematureResetMinStreamLifetimeSeconds();
    var layers = bootstrap.getLayeredRuntime().getLayersList();
    for (int i = 0; i < layers.size(); i++) {
      if (!layers.get(i).hasStaticLayer()) {
        continue;
      }
      String at = "layered_runtime.layers[" + i + "].static_layer";
      Map<String, com.google.protobuf.Value> flat = new LinkedHashMap<>();
      flatten("", layers.get(i).getStaticLayer(), flat);
      for (var e : flat.entrySet()) {
        String key = e.getKey();
        if (key.equals(PREMATURE_RESET_TOTAL_STREAM_COUNT)) {
          long v = runtimeInteger(e.getValue(), at + "." + key, 1, Integer.MAX_VALUE);
          total = v < 0 ? total : (int) v;
        } else if (key.equals(PREMATURE_RESET_MIN_STREAM_LIFETIME_SECONDS)) {
          long v = runtimeInteger(e.getValue(), at + "." + key, 0, Integer.MAX_VALUE);
          lifetime = v < 0 ? lifetime : v;
        } else {
          problems.warn(at + "." + key, "ignored: Keelson reads only " + PREMATURE_RESET_TOTAL_STREAM_COUNT + " and "
              + PREMATURE_RESET_MIN_STREAM_LIFETIME_SECONDS + " from the runtime");
        }
      }
    }
    http2Defaults = http2Defaults.withPrematureResets(total, lifetime);
  }

  /**
   * A static layer's keys as Envoy reads them: nested maps joined with dots, so {@code overload:
   * {premature_reset_total_stream_count: 40}} is the same key as {@code overload.premature_reset_total_stream_count: 40}.
   */
  private static void flatten(String prefix, com.google.protobuf.Struct layer, Map<String, com.google.protobuf.Value> out) {
    for (var e : layer.getFieldsMap().entrySet()) {
      if (e.getValue().hasStructValue()) {
        flatten(prefix + e.getKey() + ".", e.getValue().getStructValue(), out);
      } else {
        out.put(prefix + e.getKey(), e.getValue());
      }
    }
  }

  /** A runtime value that must be a whole number in [min, max] (a number or a numeric string); -1 after an error. */
  private long runtimeInteger(com.google.protobuf.Value v, String path, long min, long max) {
    double d;
    if (v.hasNumberValue()) {
      d = v.getNumberValue();
    } else if (v.hasStringValue()) {
      try {
        d = Long.parseLong(v.getStringValue().trim());
      } catch (NumberFormatException e) {
        d = Double.NaN;
      }
    } else {
      d = Double.NaN;
    }
    if (Double.isNaN(d) || d != Math.rint(d) || d < min || d > max) {
      problems.error(path, "expected a whole number from " + min + " to " + max);
      return -1;
    }
    return (long) d;
  }

  List<ListenerConfig> listeners(Bootstrap.StaticResources resources) {
    List<String> paths = new ArrayList<>();
    for (int i = 0; i < resources.getListenersCount(); i++) {
      paths.add("static_resources.listeners[" + i + "]");
    }
    return listeners(resources.getListenersList(), paths);
  }

  /** Translates listeners, each reported under its own path (a bootstrap index or an xDS resource name). */
  List<ListenerConfig> listeners(List<Listener> sources, List<String> paths) {
    List<ListenerConfig> listeners = new ArrayList<>();
    Map<String, String> names = new LinkedHashMap<>();
    for (int i = 0; i < sources.size(); i++) {
      Listener l = sources.get(i);
      String path = paths.get(i);
      String name = l.getName().isEmpty() ? "listener_" + i : l.getName();
      String previous = names.putIfAbsent(name, path);
      if (previous != null) {
        problems.error(path + ".name", "listener name '" + name + "' is already used by " + previous
            + "; expected unique names");
      }
      if (QuicListenerTranslator.isQuic(l)) {
        var quic = QuicListenerTranslator.options(l, name, path, problems);
        ListenerConfig listener = quicListener(l, name, path);
        if (quic != null && listener != null) {
          listeners.add(listener.withSourceDigest(sourceDigest(l)));
          quicListeners.put(name, quic);
        }
        continue;
      }
      if (UdpProxyTranslator.isUdp(l)) {
        var udp = UdpProxyTranslator.translate(l, name, path, problems);
        if (udp != null) {
          udpListeners.add(udp.withSourceDigest(sourceDigest(l)));
          tcpReferences.add(new RouteTranslator.ClusterReference(udp.cluster(), path + ".listener_filters[0]",
              udp.statPrefix()));
        }
        continue;
      }
      ListenerConfig listener = listener(l, name, path);
      if (listener != null) {
        listeners.add(listener.withSourceDigest(sourceDigest(l)));
      }
    }
    return listeners;
  }

  /** The HTTP/3 listeners the last {@link #listeners} call translated, by name. */
  Map<String, io.keelson.dataplane.config.QuicOptions> quicListeners() {
    return Map.copyOf(quicListeners);
  }

  /**
   * An HTTP/3 listener: each filter chain's TLS from its {@code envoy.transport_sockets.quic} transport socket and an
   * http_connection_manager as its only filter. Several chains are selected by {@code server_names} as a TCP HTTPS
   * listener's ({@link io.keelson.dataplane.config.SniCertificate}: a chain whose connection manager is not the first
   * chain's is served under its own name). Its shape is checked by {@link QuicListenerTranslator#options}. Null after
   * reporting why not.
   */
  private ListenerConfig quicListener(Listener l, String name, String path) {
    SocketAddress address = Addresses.socketAddress(problems, l.hasAddress(), l.getAddress(), path + ".address",
        SocketAddress.Protocol.UDP);
    String owner = "listener '" + name + "'";
    List<io.keelson.dataplane.config.SniCertificate> chains = new ArrayList<>();
    java.util.Set<String> chainNames = new java.util.HashSet<>();
    HttpConnectionManagerConfig first = null;
    boolean ok = address != null && l.getFilterChainsCount() > 0;
    for (int i = 0; i < l.getFilterChainsCount(); i++) {
      FilterChain chain = l.getFilterChains(i);
      String chainPath = path + ".filter_chains[" + i + "]";
      ServerTls tls = chain.hasTransportSocket()
          ? tlsTranslator.downstreamQuic(chain.getTransportSocket(), chainPath + ".transport_socket", owner) : null;
      HttpConnectionManagerConfig hcm = quicConnectionManager(chain, chainPath, owner);
      if (tls == null || hcm == null) {
        ok = false;
        continue;
      }
      if (l.getFilterChainsCount() > 1 && tls.credentials() != null && tls.credentials().clientTrust() != null) {
        // quiche moves a connection to the chain's SSL_CTX for its certificate only: the client verification stays
        // the listener's, so a per-chain CA would not be enforced.
        problems.error(chainPath + ".transport_socket", owner + ": client certificate validation on a QUIC listener"
            + " with several chains is not supported; expected one chain when its DownstreamTlsContext has a"
            + " validation_context or require_client_certificate");
        ok = false;
        continue;
      }
      boolean own = i > 0 && !chain.getFiltersList().equals(l.getFilterChains(0).getFiltersList());
      if (i == 0) {
        first = hcm;
      }
      chains.add(new io.keelson.dataplane.config.SniCertificate(chain.getFilterChainMatch().getServerNamesList(), tls,
          own ? chainListenerName(name, chain.getName(), "filter_chains[" + i + "]", chainNames) : null,
          own ? hcm : null));
    }
    if (!ok || first == null) {
      return null;
    }
    return new ListenerConfig(name, address.getAddress(), address.getPortValue(), first, null,
        chains.getFirst().tls(), List.of(), false, chains.size() == 1 ? List.of() : chains);
  }

  /** A QUIC chain's one network filter, its connection manager (codec HTTP3 or AUTO); null after reporting. */
  private HttpConnectionManagerConfig quicConnectionManager(FilterChain chain, String chainPath, String owner) {
    if (chain.getFiltersCount() != 1) {
      problems.error(chainPath + ".filters", owner + " serves HTTP/3: expected exactly one network filter,"
          + " envoy.filters.network.http_connection_manager (connection-level network filters do not run on QUIC)");
      return null;
    }
    translatingQuic = true;
    Object filter;
    try {
      filter = terminalFilter(chain.getFilters(0), chainPath + ".filters[0]");
    } finally {
      translatingQuic = false;
    }
    if (filter instanceof TcpProxyConfig) {
      problems.error(chainPath + ".filters[0]", owner + " serves HTTP/3: expected an http_connection_manager,"
          + " not tcp_proxy");
      return null;
    }
    return filter instanceof HttpConnectionManagerConfig hcm ? hcm : null;
  }

  /** The UDP listeners the last {@link #listeners} call translated, in source order. */
  List<io.keelson.dataplane.config.UdpListenerConfig> udpListeners() {
    return List.copyOf(udpListeners);
  }

  /**
   * A SHA-256 of {@code l} without its address, hex (see {@link ListenerConfig#sourceDigest}): the proxy compares
   * addresses apart (a port-0 listener whose control plane sends back the port it got is the same listener).
   * Serialized deterministically, so map fields (metadata) count in key order, not in the order they arrived.
   */
  static String sourceDigest(Listener l) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try {
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      out.useDeterministicSerialization();
      l.toBuilder().clearAddress().build().writeTo(out);
      out.flush();
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.toByteArray()));
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException("cannot digest listener '" + l.getName() + "': " + e, e); // in memory, a JDK algorithm
    }
  }

  /**
   * The paths of the chains of the listener being translated when they are not {@code filter_chains[i]} of it: a
   * group of chains selected by destination is translated as a listener of its own (see {@link #destinationListener}),
   * and its errors name the chains where they are in the source. Null otherwise.
   */
  private List<String> chainPaths;

  /** Where chain {@code i} of the listener being translated is in the source. */
  private String chainPath(String path, int i) {
    return chainPaths != null ? chainPaths.get(i) : path + ".filter_chains[" + i + "]";
  }

  /** The listener being translated is OUTBOUND (traffic_direction): its connection managers trace egress. */
  private boolean egress;

  private ListenerConfig listener(Listener l, String name, String path) {
    egress = l.getTrafficDirection() == io.envoyproxy.envoy.config.core.v3.TrafficDirection.OUTBOUND;
    SocketAddress address = Addresses.socketAddress(problems, l.hasAddress(), l.getAddress(), path + ".address");
    ListenerFilters filters = listenerFilters(l, path);
    boolean useOriginalDst = l.hasUseOriginalDst() && l.getUseOriginalDst().getValue();
    boolean bindToPort = !l.hasBindToPort() || l.getBindToPort().getValue();
    ListenerConfig out;
    if (l.hasDefaultFilterChain() || l.getFilterChainsList().stream().anyMatch(
        c -> c.getFilterChainMatch().hasDestinationPort() || c.getFilterChainMatch().getPrefixRangesCount() > 0)) {
      out = destinationListener(l, name, path, address);
    } else {
      out = chains(l, name, path, address, filters.inspector());
      if (l.getAccessLogCount() > 0) {
        problems.warn(path + ".access_log", "ignored: a listener's access log is written only for connections it closes"
            + " without a filter chain, which Keelson does only on listeners that select chains by destination"
            + " (destination_port, prefix_ranges, default_filter_chain); log connections with the filter's access_log");
      }
    }
    if (out == null) {
      return null;
    }
    out = out.withInterception(filters.originalDst(), useOriginalDst, bindToPort);
    if (filters.proxyProtocol() == null) {
      return out;
    }
    if (useOriginalDst) {
      problems.error(path + ".use_original_dst", "listener '" + name + "' has the envoy.filters.listener.proxy_protocol"
          + " listener filter; a hand-off by the address a PROXY protocol header restores is not supported: expected"
          + " use_original_dst false or no proxy_protocol listener filter");
      return null;
    }
    var config = ProxyProtocolTranslator.translate(filters.proxyProtocol(), listenerFiltersTimeout(l, path), problems,
        path + ".listener_filters[" + filters.proxyProtocolIndex() + "].typed_config");
    return config == null ? null : out.withProxyProtocol(config);
  }

  /** The listener's {@code listener_filters_timeout}, Envoy's 15 s default when unset, zero for none; null if negative. */
  private Duration listenerFiltersTimeout(Listener l, String path) {
    if (!l.hasListenerFiltersTimeout()) {
      return DEFAULT_LISTENER_FILTERS_TIMEOUT;
    }
    var d = l.getListenerFiltersTimeout();
    if (d.getSeconds() < 0 || d.getNanos() < 0) {
      problems.error(path + ".listener_filters_timeout", "is negative; expected 0 (no timeout) or more");
      return null;
    }
    return Duration.ofSeconds(d.getSeconds(), d.getNanos());
  }

  /** What a listener's filter chains run, when they are not selected by destination. */
  private ListenerConfig chains(Listener l, String name, String path, SocketAddress address, boolean inspector) {
    if (l.getFilterChainsCount() == 0) {
      problems.error(path + ".filter_chains", "listener '" + name + "' has no filter chains; expected at least one");
      return null;
    }
    if (l.getFilterChainsList().stream().anyMatch(c -> c.getFilterChainMatch().getApplicationProtocolsCount() > 0)) {
      return protocolListener(l, name, path, address);
    }
    boolean sni = l.getFilterChainsCount() > 1
        || l.getFilterChainsList().stream().anyMatch(c -> c.getFilterChainMatch().getServerNamesCount() > 0);
    if (permissive(l)) {
      return permissiveListener(l, name, path, address);
    }
    if (sni) {
      return sniListener(l, name, path, address, inspector);
    }
    FilterChain chain = l.getFilterChains(0);
    String chainPath = chainPath(path, 0);
    Object filter = chainFilter(chain, chainPath, name);
    ServerTls tls = null;
    if (chain.hasTransportSocket()) {
      tls = tlsTranslator.downstream(chain.getTransportSocket(), chainPath + ".transport_socket", "listener '" + name + "'");
      if (tls == null) {
        return null;
      }
    }
    if (address == null || filter == null) {
      return null;
    }
    return new ListenerConfig(name, address.getAddress(), address.getPortValue(),
        filter instanceof HttpConnectionManagerConfig h ? h : null, filter instanceof TcpProxyConfig t ? t : null,
        tls, List.of(), false, List.of());
  }

  /**
   * Istio's PERMISSIVE shape: two chains without server names, the first selected by
   * {@code transport_protocol: tls} with a TLS transport socket, the second plaintext (no transport_protocol, or
   * {@code raw_buffer}).
   */
  private static boolean permissive(Listener l) {
    if (l.getFilterChainsCount() != 2) {
      return false;
    }
    FilterChain tls = l.getFilterChains(0);
    FilterChain plain = l.getFilterChains(1);
    return tls.getFilterChainMatch().getTransportProtocol().equals("tls") && tls.hasTransportSocket()
        && tls.getFilterChainMatch().getServerNamesCount() == 0
        && !plain.hasTransportSocket() && isPlaintextMatch(plain.getFilterChainMatch().getTransportProtocol())
        && plain.getFilterChainMatch().getServerNamesCount() == 0;
  }

  /**
   * A chain for connections that are not TLS: no transport_protocol, or Envoy's {@code raw_buffer} (what the TLS
   * inspector reports for them, and what a connection has without the inspector), as Istio's inbound chains say.
   */
  private static boolean isPlaintextMatch(String transportProtocol) {
    return transportProtocol.isEmpty() || transportProtocol.equals("raw_buffer");
  }

  /** TLS or plaintext on one port; both chains run the same kind of filter and the TLS chain's config serves both. */
  private ListenerConfig permissiveListener(Listener l, String name, String path, SocketAddress address) {
    Object filter = chainFilter(l.getFilterChains(0), chainPath(path, 0), name);
    Object plain = chainFilter(l.getFilterChains(1), chainPath(path, 1), name);
    if (filter != null && plain != null && filter.getClass() != plain.getClass()) {
      problems.error(chainPath(path, 1) + ".filters", "listener '" + name + "': the plaintext chain of a"
          + " TLS-or-plaintext listener must run the same kind of filter as the transport_protocol: tls chain");
      return null;
    }
    ServerTls tls = tlsTranslator.downstream(l.getFilterChains(0).getTransportSocket(),
        chainPath(path, 0) + ".transport_socket", "listener '" + name + "'");
    if (tls == null || address == null || filter == null || plain == null) {
      return null;
    }
    return new ListenerConfig(name, address.getAddress(), address.getPortValue(),
        filter instanceof HttpConnectionManagerConfig h ? h : null, filter instanceof TcpProxyConfig t ? t : null,
        tls, List.of(), true, List.of());
  }

  private static io.keelson.dataplane.tls.ForwardClientCert forwardClientCert(HttpConnectionManager hcm) {
    var mode = switch (hcm.getForwardClientCertDetails()) {
      case FORWARD_ONLY -> io.keelson.dataplane.tls.ForwardClientCert.Mode.FORWARD_ONLY;
      case APPEND_FORWARD -> io.keelson.dataplane.tls.ForwardClientCert.Mode.APPEND_FORWARD;
      case SANITIZE_SET -> io.keelson.dataplane.tls.ForwardClientCert.Mode.SANITIZE_SET;
      case ALWAYS_FORWARD_ONLY -> io.keelson.dataplane.tls.ForwardClientCert.Mode.ALWAYS_FORWARD_ONLY;
      default -> io.keelson.dataplane.tls.ForwardClientCert.Mode.SANITIZE;
    };
    return new io.keelson.dataplane.tls.ForwardClientCert(mode,
        hcm.hasSetCurrentClientCertDetails() && hcm.getSetCurrentClientCertDetails().getUri());
  }

  /**
   * The listener filters Keelson runs: the TLS inspector, the HTTP inspector, original_dst and proxy_protocol (its
   * config and index in listener_filters, or null and -1).
   */
  private record ListenerFilters(boolean inspector, boolean originalDst, boolean httpInspector,
      io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol proxyProtocol,
      int proxyProtocolIndex) {}

  /** Only the TLS inspector, the HTTP inspector and original_dst run as listener filters; which of them are there. */
  private ListenerFilters listenerFilters(Listener l, String path) {
    boolean inspector = false;
    boolean originalDst = false;
    boolean httpInspector = false;
    io.envoyproxy.envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol proxyProtocol = null;
    int proxyProtocolIndex = -1;
    for (int i = 0; i < l.getListenerFiltersCount(); i++) {
      var f = l.getListenerFilters(i);
      String type = f.hasTypedConfig() ? SupportedTypes.typeName(f.getTypedConfig().getTypeUrl()) : null;
      if (SupportedTypes.TLS_INSPECTOR.equals(type) || (type == null && f.getName().equals("envoy.filters.listener.tls_inspector"))) {
        inspector = true;
      } else if (SupportedTypes.ORIGINAL_DST.equals(type)
          || (type == null && f.getName().equals("envoy.filters.listener.original_dst"))) {
        originalDst = true;
      } else if (SupportedTypes.HTTP_INSPECTOR.equals(type)
          || (type == null && f.getName().equals("envoy.filters.listener.http_inspector"))) {
        httpInspector = true;
      } else if (isProxyProtocol(f)) {
        proxyProtocol = ProxyProtocolTranslator.unpack(f, path + ".listener_filters[" + i + "]", problems);
        proxyProtocolIndex = i;
      } else if (!problems.reportedAt(path + ".listener_filters[" + i + "].typed_config")) {
        problems.error(path + ".listener_filters[" + i + "]", "listener filter '" + f.getName()
            + "' is not supported; expected only envoy.filters.listener.tls_inspector, envoy.filters.listener.http_inspector,"
            + " envoy.filters.listener.original_dst or envoy.filters.listener.proxy_protocol");
      }
    }
    return new ListenerFilters(inspector, originalDst, httpInspector, proxyProtocol, proxyProtocolIndex);
  }

  /**
   * A listener whose chains are selected by destination ({@code filter_chain_match.destination_port},
   * {@code prefix_ranges}) or that has a {@code default_filter_chain}: the chains with the same destination criteria
   * are translated together as a listener of their own (so they may still be selected by server name or TLS), named
   * {@code <listener>/<first chain's name, else filter_chains[i]>}; see {@link DestinationChains} for the matching.
   */
  private ListenerConfig destinationListener(Listener l, String name, String path, SocketAddress address) {
    Map<String, DestinationGroup> groups = new LinkedHashMap<>(); // by destination criteria, in source order
    boolean ok = true;
    for (int i = 0; i < l.getFilterChainsCount(); i++) {
      var m = l.getFilterChains(i).getFilterChainMatch();
      String at = path + ".filter_chains[" + i + "].filter_chain_match";
      int port = 0;
      if (m.hasDestinationPort()) {
        port = m.getDestinationPort().getValue();
        if (port < 1 || port > 65535) {
          problems.error(at + ".destination_port", Integer.toUnsignedString(port) + " is out of range; expected 1-65535");
          ok = false;
        }
      }
      List<io.keelson.dataplane.rbac.CidrRange> ranges = new ArrayList<>();
      List<String> keys = new ArrayList<>();
      for (int j = 0; j < m.getPrefixRangesCount(); j++) {
        var r = m.getPrefixRanges(j);
        int length = r.hasPrefixLen() ? r.getPrefixLen().getValue() : -1;
        try {
          ranges.add(io.keelson.dataplane.rbac.CidrRange.of(r.getAddressPrefix(), length));
          keys.add(r.getAddressPrefix() + "/" + length);
        } catch (IllegalArgumentException e) {
          problems.error(at + ".prefix_ranges[" + j + "]", e.getMessage() + "; expected an IP address_prefix and a prefix_len");
          ok = false;
        }
      }
      keys.sort(null);
      final int chainPort = port;
      groups.computeIfAbsent(port + " " + keys, k -> new DestinationGroup(chainPort, ranges, new ArrayList<>())).chains().add(i);
    }
    if (!ok || address == null) {
      return null;
    }
    List<DestinationChains.Entry> entries = new ArrayList<>();
    java.util.Set<String> chainNames = new java.util.HashSet<>();
    for (DestinationGroup g : groups.values()) {
      List<FilterChain> chains = new ArrayList<>();
      List<String> paths = new ArrayList<>();
      for (int i : g.chains()) {
        FilterChain c = l.getFilterChains(i);
        chains.add(c.toBuilder().setFilterChainMatch(c.getFilterChainMatch().toBuilder().clearDestinationPort()
            .clearPrefixRanges()).build());
        paths.add(path + ".filter_chains[" + i + "]");
      }
      int first = g.chains().getFirst();
      String chainName = chainListenerName(name, l.getFilterChains(first).getName(), "filter_chains[" + first + "]", chainNames);
      ListenerConfig chain = chainGroup(l, chains, paths, chainName, path);
      if (chain == null) {
        ok = false;
        continue;
      }
      entries.add(new DestinationChains.Entry(g.port(), g.prefixes(), chain));
    }
    ListenerConfig defaultChain = null;
    if (l.hasDefaultFilterChain()) {
      FilterChain d = l.getDefaultFilterChain();
      if (d.hasFilterChainMatch()) {
        problems.error(path + ".default_filter_chain.filter_chain_match", "a default_filter_chain has no"
            + " filter_chain_match (it serves the connections no other chain matches)");
        return null;
      }
      defaultChain = chainGroup(l, List.of(d), List.of(path + ".default_filter_chain"),
          chainListenerName(name, d.getName(), "default_filter_chain", chainNames), path);
      ok &= defaultChain != null;
    }
    if (!ok) {
      return null;
    }
    return ListenerConfig.withDestinationChains(name, address.getAddress(), address.getPortValue(),
        new DestinationChains(entries, defaultChain,
            AccessLogTranslator.translate(l.getAccessLogList(), path + ".access_log", problems)));
  }

  /** The chains (indexes in the listener) that share one destination port (0: any) and set of prefix ranges. */
  private record DestinationGroup(int port, List<io.keelson.dataplane.rbac.CidrRange> prefixes, List<Integer> chains) {}

  /** {@code <listener>/<chain name>}, or {@code <listener>/<fallback>} when the chain has no name or its name is taken. */
  private static String chainListenerName(String listener, String chainName, String fallback, java.util.Set<String> used) {
    String name = listener + "/" + (chainName.isEmpty() ? fallback : chainName);
    return used.add(name) ? name : listener + "/" + fallback;
  }

  /** Some of {@code l}'s chains (their destination criteria removed) translated as a listener named {@code name}. */
  private ListenerConfig chainGroup(Listener l, List<FilterChain> chains, List<String> paths, String name, String path) {
    Listener.Builder builder = Listener.newBuilder().setName(name).setAddress(l.getAddress())
        .addAllListenerFilters(l.getListenerFiltersList().stream()
            .filter(f -> !isOriginalDst(f) && !isProxyProtocol(f)).toList()) // both run once, for the whole listener
        .setContinueOnListenerFiltersTimeout(l.getContinueOnListenerFiltersTimeout())
        .addAllFilterChains(chains);
    if (l.hasListenerFiltersTimeout()) {
      builder.setListenerFiltersTimeout(l.getListenerFiltersTimeout());
    }
    Listener group = builder.build();
    List<String> before = chainPaths;
    chainPaths = paths;
    try {
      return chains(group, name, path, Addresses.socketAddress(problems, true, l.getAddress(), path + ".address"),
          listenerFilters(group, path).inspector());
    } finally {
      chainPaths = before;
    }
  }

  private static boolean isProxyProtocol(io.envoyproxy.envoy.config.listener.v3.ListenerFilter f) {
    return f.hasTypedConfig() ? SupportedTypes.PROXY_PROTOCOL.equals(SupportedTypes.typeName(f.getTypedConfig().getTypeUrl()))
        : f.getName().equals(ProxyProtocolTranslator.NAME);
  }

  private static boolean isOriginalDst(io.envoyproxy.envoy.config.listener.v3.ListenerFilter f) {
    return f.hasTypedConfig() ? SupportedTypes.ORIGINAL_DST.equals(SupportedTypes.typeName(f.getTypedConfig().getTypeUrl()))
        : f.getName().equals("envoy.filters.listener.original_dst");
  }

  /** Envoy's listener_filters_timeout when the listener does not set one. */
  static final Duration DEFAULT_LISTENER_FILTERS_TIMEOUT = Duration.ofSeconds(15);

  /**
   * Chains selected by {@code filter_chain_match.application_protocols}, the protocol the
   * {@code envoy.filters.listener.http_inspector} listener filter detects (Istio's shape for a port with no declared
   * protocol: an HTTP connection manager for {@code http/1.0}, {@code http/1.1} and {@code h2c}, a tcp_proxy for the
   * rest); chains for {@code transport_protocol: tls} terminate TLS and are selected by the ClientHello's ALPN (Istio's
   * inbound chains of such a port under mTLS: {@code istio-http/1.1} and the like for HTTP, the rest TCP). Each is
   * translated as a listener of its own, named {@code <listener>/<chain name, else filter_chains[i]>}.
   */
  private ListenerConfig protocolListener(Listener l, String name, String path, SocketAddress address) {
    ListenerFilters inspectors = listenerFilters(l, path);
    if (!inspectors.httpInspector()) {
      problems.error(path + ".listener_filters", "listener '" + name + "' selects filter chains by application_protocols;"
          + " expected the envoy.filters.listener.http_inspector listener filter");
      return null;
    }
    boolean tlsInspector = inspectors.inspector();
    boolean[] protocolsOk = {true}; // an unknown protocol is reported, and the chain still read for its other problems
    List<io.keelson.dataplane.config.ProtocolChains.Entry> entries = chainsByMatch(l, name, path,
        new ChainMatchReader<>() {
          @Override
          public List<String> key(FilterChain c, String at) {
            var m = c.getFilterChainMatch();
            boolean tlsChain = m.getTransportProtocol().equals(io.keelson.dataplane.config.ProtocolChains.TLS);
            if (m.getServerNamesCount() > 0 || (tlsChain ? !c.hasTransportSocket() || !tlsInspector
                : !isPlaintextMatch(m.getTransportProtocol()) || c.hasTransportSocket())) {
              problems.error(at + ".filter_chain_match", "listener '" + name + "': chains selected by"
                  + " application_protocols must be plaintext (no server_names, transport_protocol raw_buffer or none,"
                  + " no transport_socket) or terminate TLS (transport_protocol tls with a transport_socket, and the"
                  + " listener runs envoy.filters.listener.tls_inspector, which reads the ClientHello's ALPN); chains by"
                  + " server_names beside them are not supported");
              return null;
            }
            List<String> protocols = m.getApplicationProtocolsList();
            for (int j = 0; j < protocols.size() && !tlsChain; j++) { // a TLS chain names ALPN protocols, any
              if (!io.keelson.dataplane.config.ProtocolChains.HTTP_PROTOCOLS.contains(protocols.get(j))) {
                problems.error(at + ".filter_chain_match.application_protocols[" + j + "]", "'" + protocols.get(j)
                    + "' is not a protocol the http_inspector detects; expected one of "
                    + String.join(", ", io.keelson.dataplane.config.ProtocolChains.HTTP_PROTOCOLS));
                protocolsOk[0] = false;
              }
            }
            List<String> key = new ArrayList<>(new java.util.TreeSet<>(protocols));
            key.addFirst(m.getTransportProtocol());
            return key;
          }

          @Override
          public String matchField() {
            return ".filter_chain_match";
          }

          @Override
          public String match(FilterChain c) {
            return "transport_protocol and application_protocols " + c.getFilterChainMatch().getApplicationProtocolsList();
          }

          @Override
          public FilterChain served(FilterChain c) {
            return c.toBuilder().setFilterChainMatch(c.getFilterChainMatch().toBuilder().clearApplicationProtocols())
                .build();
          }

          @Override
          public io.keelson.dataplane.config.ProtocolChains.Entry entry(FilterChain c, ListenerConfig chain) {
            return new io.keelson.dataplane.config.ProtocolChains.Entry(c.getFilterChainMatch().getTransportProtocol(),
                List.copyOf(c.getFilterChainMatch().getApplicationProtocolsList()), chain);
          }
        });
    boolean ok = entries != null && protocolsOk[0];
    Duration timeout = listenerFiltersTimeout(l, path);
    if (!ok || address == null || timeout == null) {
      return null;
    }
    return ListenerConfig.withProtocolChains(name, address.getAddress(), address.getPortValue(),
        new io.keelson.dataplane.config.ProtocolChains(entries, timeout, l.getContinueOnListenerFiltersTimeout()));
  }

  /**
   * Chains selected by the ClientHello's server name: all HTTPS ({@link #sniHttpsListener}), HTTPS beside tcp_proxy
   * ({@link #serverNameListener}), or all tcp_proxy, each passing TLS through, or (a chain with a transport_socket)
   * terminating it with its own certificate before relaying the plaintext.
   */
  private ListenerConfig sniListener(Listener l, String name, String path, SocketAddress address, boolean inspector) {
    if (!inspector) {
      problems.error(path + ".listener_filters", "listener '" + name
          + "' selects filter chains by server_names; expected the envoy.filters.listener.tls_inspector listener filter");
      return null;
    }
    if (l.getFilterChainsList().stream().allMatch(c -> c.hasTransportSocket() && endsInHcm(c))) {
      return sniHttpsListener(l, name, path, address);
    }
    if (l.getFilterChainsList().stream().anyMatch(SnapshotTranslator::endsInHcm)) {
      return serverNameListener(l, name, path, address);
    }
    List<SniChain> chains = new ArrayList<>();
    boolean ok = true;
    for (int i = 0; i < l.getFilterChainsCount(); i++) {
      FilterChain chain = l.getFilterChains(i);
      String chainPath = chainPath(path, i);
      Object filter = chainFilter(chain, chainPath, name);
      if (filter instanceof TcpProxyConfig t) { // HTTP chains among them are serverNameListener's
        // With a transport socket the chain terminates TLS with its own certificate, then relays the plaintext.
        ServerTls tls = null;
        if (chain.hasTransportSocket()) {
          tls = tlsTranslator.downstream(chain.getTransportSocket(), chainPath + ".transport_socket",
              "listener '" + name + "'");
          if (tls == null) {
            ok = false;
            continue;
          }
        }
        chains.add(new SniChain(chain.getFilterChainMatch().getServerNamesList(), t, tls));
      } else {
        ok = false;
      }
    }
    if (!ok || address == null) {
      return null;
    }
    return new ListenerConfig(name, address.getAddress(), address.getPortValue(), null, chains.getFirst().tcpProxy(),
        null, chains, false, List.of());
  }

  private static boolean endsInHcm(FilterChain c) {
    return c.getFiltersCount() > 0
        && c.getFilters(c.getFiltersCount() - 1).getName().equals("envoy.filters.network.http_connection_manager");
  }

  /**
   * HTTPS chains beside tcp_proxy chains, all selected by server name (an Istio gateway port with HTTPS, terminating
   * TLS and PASSTHROUGH servers): each chain is translated as a listener of its own, named
   * {@code <listener>/<chain name, else filter_chains[i]>}, and a connection goes to the one its ClientHello's name
   * selects in Envoy's order over all of them ({@link io.keelson.dataplane.config.ServerNameChains}). An HTTP chain
   * must terminate TLS (a plaintext HTTP chain cannot be chosen by a ClientHello).
   */
  private ListenerConfig serverNameListener(Listener l, String name, String path, SocketAddress address) {
    List<io.keelson.dataplane.config.ServerNameChains.Entry> entries = chainsByMatch(l, name, path,
        new ChainMatchReader<>() {
          @Override
          public List<String> key(FilterChain c, String at) {
            if (endsInHcm(c) && !c.hasTransportSocket()) {
              problems.error(at + ".transport_socket", "listener '" + name + "': an HTTP chain selected by server_names"
                  + " beside tcp_proxy chains must terminate TLS; expected a transport_socket (envoy.transport_sockets.tls)");
              return null;
            }
            return new java.util.TreeSet<>(c.getFilterChainMatch().getServerNamesList()).stream().toList();
          }

          @Override
          public String matchField() {
            return ".filter_chain_match.server_names";
          }

          @Override
          public String match(FilterChain c) {
            return "server_names " + new java.util.TreeSet<>(c.getFilterChainMatch().getServerNamesList()).stream().toList();
          }

          @Override
          public io.keelson.dataplane.config.ServerNameChains.Entry entry(FilterChain c, ListenerConfig chain) {
            return new io.keelson.dataplane.config.ServerNameChains.Entry(c.getFilterChainMatch().getServerNamesList(),
                chain);
          }
        });
    if (entries == null || address == null) {
      return null;
    }
    return ListenerConfig.withServerNameChains(name, address.getAddress(), address.getPortValue(),
        new io.keelson.dataplane.config.ServerNameChains(entries));
  }

  /**
   * How a listener whose chains are each served as a listener of their own, chosen by one kind of match
   * ({@link #chainsByMatch}), reads a chain.
   */
  private interface ChainMatchReader<E> {
    /** What the chain is chosen by, which no two chains may share; null when the chain is refused (reported). */
    List<String> key(FilterChain c, String at);

    /** The match's field under the chain's path, for a duplicate. */
    String matchField();

    /** The match a duplicate repeats, as its error names it. */
    String match(FilterChain c);

    /** The chain its own listener is translated from. */
    default FilterChain served(FilterChain c) {
      return c;
    }

    E entry(FilterChain c, ListenerConfig chain);
  }

  /**
   * Each chain of {@code l} read by {@code reader} and translated as a listener of its own, named
   * {@code <listener>/<chain name, else filter_chains[i]>}; null when any chain is refused (every problem reported).
   */
  private <E> List<E> chainsByMatch(Listener l, String name, String path, ChainMatchReader<E> reader) {
    List<E> entries = new ArrayList<>();
    java.util.Set<String> chainNames = new java.util.HashSet<>();
    java.util.Set<List<String>> seen = new java.util.HashSet<>();
    boolean ok = true;
    for (int i = 0; i < l.getFilterChainsCount(); i++) {
      FilterChain c = l.getFilterChains(i);
      String at = chainPath(path, i);
      List<String> key = reader.key(c, at);
      if (key == null) {
        ok = false;
        continue;
      }
      if (!seen.add(key)) {
        problems.error(at + reader.matchField(), "listener '" + name + "': another chain has the same "
            + reader.match(c) + "; expected each set once (Envoy rejects duplicate matches)");
        ok = false;
        continue;
      }
      String chainName = chainListenerName(name, c.getName(), "filter_chains[" + i + "]", chainNames);
      ListenerConfig chain = chainGroup(l, List.of(reader.served(c)), List.of(at), chainName, path);
      if (chain == null) {
        ok = false;
        continue;
      }
      entries.add(reader.entry(c, chain));
    }
    return ok ? entries : null;
  }

  /**
   * HTTPS with a certificate per server name: every chain terminates TLS (its own DownstreamTlsContext,
   * selected by {@code server_names}) and runs an HTTP connection manager. A chain whose network filters
   * are the first chain's is served by the listener's connection manager; any other runs its own (route
   * config, filters, access logs, tracing, stat prefix), served under {@code <listener>/<chain name>}
   * ({@code <listener>/filter_chains[i]} without a name), as Envoy runs each chain's own filters.
   */
  private ListenerConfig sniHttpsListener(Listener l, String name, String path, SocketAddress address) {
    FilterChain first = l.getFilterChains(0);
    Object filter = chainFilter(first, chainPath(path, 0), name);
    List<io.keelson.dataplane.config.SniCertificate> certificates = new ArrayList<>();
    java.util.Set<String> chainNames = new java.util.HashSet<>();
    boolean ok = filter instanceof HttpConnectionManagerConfig;
    for (int i = 0; i < l.getFilterChainsCount(); i++) {
      FilterChain chain = l.getFilterChains(i);
      String chainPath = chainPath(path, i);
      String servingName = null;
      HttpConnectionManagerConfig http = null;
      if (i > 0 && !chain.getFiltersList().equals(first.getFiltersList())) {
        Object own = chainFilter(chain, chainPath, name);
        if (!(own instanceof HttpConnectionManagerConfig h)) {
          if (own != null) {
            problems.error(chainPath + ".filters", "listener '" + name + "': a TLS chain selected by server_names beside"
                + " HTTP chains must end in envoy.filters.network.http_connection_manager");
          }
          ok = false;
          continue;
        }
        http = h;
        servingName = chainListenerName(name, chain.getName(), "filter_chains[" + i + "]", chainNames);
      }
      ServerTls tls = tlsTranslator.downstream(chain.getTransportSocket(), chainPath + ".transport_socket", "listener '" + name + "'");
      if (tls == null) {
        ok = false;
        continue;
      }
      certificates.add(new io.keelson.dataplane.config.SniCertificate(chain.getFilterChainMatch().getServerNamesList(), tls,
          servingName, http));
    }
    if (!ok || address == null) {
      return null;
    }
    return new ListenerConfig(name, address.getAddress(), address.getPortValue(), (HttpConnectionManagerConfig) filter, null,
        certificates.getFirst().tls(), List.of(), false, certificates);
  }

  /** The chain's one network filter, translated: an HttpConnectionManagerConfig, a TcpProxyConfig, or null. */
  private Object chainFilter(FilterChain chain, String chainPath, String name) {
    if (chain.hasFilterChainMatch()) {
      var m = chain.getFilterChainMatch();
      if (!isPlaintextMatch(m.getTransportProtocol()) && !m.getTransportProtocol().equals("tls")) {
        problems.error(chainPath + ".filter_chain_match.transport_protocol", "'" + m.getTransportProtocol()
            + "' is not supported; expected tls, raw_buffer (or nothing)");
        return null;
      }
    }
    int count = chain.getFiltersCount();
    if (count == 0) {
      problems.error(chainPath + ".filters", "listener '" + name + "' has no network filters; expected "
          + "envoy.filters.network.http_connection_manager or envoy.filters.network.tcp_proxy (after any envoy.filters.network.rbac"
          + " or envoy.filters.network.ext_authz)");
      return null;
    }
    List<NetworkRbacConfig> rbac = new ArrayList<>();
    io.keelson.dataplane.filter.extauthz.NetworkExtAuthzConfig extAuthz = null;
    int extAuthzAfter = 0;
    boolean rbacOk = true;
    List<io.keelson.dataplane.stats.IstioMetricsConfig.Override> istioMetrics = null;
    List<io.keelson.dataplane.filter.ConnectionGateConfig> gates = new ArrayList<>();
    String peerExchange = null;
    for (int i = 0; i < count - 1; i++) {
      Filter f = chain.getFilters(i);
      String at = chainPath + ".filters[" + i + "]";
      String gateType = f.hasTypedConfig() ? SupportedTypes.typeName(f.getTypedConfig().getTypeUrl()) : null;
      if (SupportedTypes.NETWORK_LOCAL_RATELIMIT.equals(gateType) || SupportedTypes.CONNECTION_LIMIT.equals(gateType)) {
        var gate = connectionGate(f, gateType, at);
        rbacOk &= gate != null;
        if (gate != null) {
          gates.add(gate);
        }
        continue;
      }
      if (f.hasTypedConfig() && MetadataExchangeTranslator.is(f.getTypedConfig())) {
        if (peerExchange != null) {
          problems.error(at, "listener '" + name + "': a second metadata_exchange network filter in one chain is not "
              + "supported; expected one");
          rbacOk = false;
          continue;
        }
        peerExchange = MetadataExchangeTranslator.protocol(f.getTypedConfig(), at + ".typed_config", problems);
        rbacOk &= peerExchange != null;
        continue;
      }
      if (f.hasTypedConfig() && f.getTypedConfig().is(com.github.xds.type.v3.TypedStruct.class)) {
        if (istioMetrics != null) {
          problems.error(at, "listener '" + name + "': a second istio.stats network filter in one chain is not "
              + "supported (Envoy would run both, reporting each connection twice); expected one");
          rbacOk = false;
          continue;
        }
        istioMetrics = istioStats(f, at);
        rbacOk &= istioMetrics != null;
        continue;
      }
      if (f.hasTypedConfig() && SupportedTypes.NETWORK_EXT_AUTHZ.equals(SupportedTypes.typeName(f.getTypedConfig().getTypeUrl()))) {
        if (extAuthz != null) {
          problems.error(at, "listener '" + name + "': one " + io.keelson.dataplane.filter.extauthz.NetworkExtAuthzConfig.FILTER_NAME
              + " filter per chain is supported; found a second one");
          rbacOk = false;
          continue;
        }
        extAuthz = networkExtAuthz(f, at);
        extAuthzAfter = rbac.size();
        rbacOk &= extAuthz != null;
        continue;
      }
      NetworkRbacConfig r = networkRbac(f, at, name);
      if (r == null) {
        rbacOk = false;
      } else {
        rbac.add(r);
      }
    }
    Object last = terminalFilter(chain.getFilters(count - 1), chainPath + ".filters[" + (count - 1) + "]");
    if (!rbacOk || last == null) {
      return null;
    }
    if (istioMetrics != null && !(last instanceof TcpProxyConfig)) {
      problems.error(chainPath + ".filters", "listener '" + name + "': the istio.stats network filter is supported in "
          + "front of envoy.filters.network.tcp_proxy only; for HTTP put it in the connection manager's http_filters");
      return null;
    }
    if (istioMetrics != null) {
      last = ((TcpProxyConfig) last).withIstioMetrics(istioMetrics);
    }
    if (!gates.isEmpty()) {
      if (!(last instanceof TcpProxyConfig t)) {
        problems.error(chainPath + ".filters", "listener '" + name + "': " + gates.getFirst().filterName() + " is supported"
            + " in front of envoy.filters.network.tcp_proxy only; for HTTP use envoy.filters.http.local_ratelimit");
        return null;
      }
      last = t.withGates(gates);
    }
    if (peerExchange != null) {
      if (!(last instanceof TcpProxyConfig t) || !chain.hasTransportSocket()) {
        problems.error(chainPath + ".filters", "listener '" + name + "': the metadata_exchange network filter is "
            + "supported on a TLS chain (transport_socket) in front of envoy.filters.network.tcp_proxy only; HTTP "
            + "exchanges metadata in headers");
        return null;
      }
      last = t.withPeerExchange(peerExchange);
    }
    if (rbac.isEmpty() && extAuthz == null) {
      return last;
    }
    if (last instanceof TcpProxyConfig t) {
      return t.withNetworkFilters(rbac, extAuthz, extAuthzAfter);
    }
    problems.error(chainPath + ".filters[0]", "listener '" + name + "': envoy.filters.network.rbac and "
        + "envoy.filters.network.ext_authz are enforced in front of envoy.filters.network.tcp_proxy only; for HTTP use "
        + "the envoy.filters.http.rbac and envoy.filters.http.ext_authz HTTP filters");
    return null;
  }

  /** envoy.filters.network.local_ratelimit or connection_limit ({@code type}) before tcp_proxy, or null after reporting. */
  private io.keelson.dataplane.filter.ConnectionGateConfig connectionGate(Filter filter, String type, String filterPath) {
    try {
      String at = filterPath + ".typed_config";
      if (SupportedTypes.NETWORK_LOCAL_RATELIMIT.equals(type)) {
        return io.keelson.dataplane.filter.netratelimit.NetworkLocalRateLimitConfig.from(filter.getTypedConfig().unpack(
            io.envoyproxy.envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit.class), at, problems);
      }
      return io.keelson.dataplane.filter.connlimit.ConnectionLimitConfig.from(filter.getTypedConfig().unpack(
          io.envoyproxy.envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit.class), at, problems);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      problems.error(filterPath + ".typed_config", "not a valid " + type + ": " + e.getMessage());
      return null;
    }
  }

  /** Istio's istio.stats network filter (a TypedStruct of stats.PluginConfig), or null after reporting what is wrong. */
  @SuppressWarnings("unchecked")
  private List<io.keelson.dataplane.stats.IstioMetricsConfig.Override> istioStats(Filter filter, String filterPath) {
    com.github.xds.type.v3.TypedStruct ts;
    try {
      ts = filter.getTypedConfig().unpack(com.github.xds.type.v3.TypedStruct.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      problems.error(filterPath + ".typed_config", "not a valid xds.type.v3.TypedStruct: " + e.getMessage());
      return null;
    }
    return (List<io.keelson.dataplane.stats.IstioMetricsConfig.Override>)
        new io.keelson.dataplane.filter.istiostats.IstioStatsFilterFactory().translate(ts, filterPath + ".typed_config", problems);
  }

  /** envoy.filters.network.ext_authz before the terminal filter, or null after reporting what is wrong. */
  private io.keelson.dataplane.filter.extauthz.NetworkExtAuthzConfig networkExtAuthz(Filter filter, String filterPath) {
    io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz proto;
    try {
      proto = filter.getTypedConfig().unpack(io.envoyproxy.envoy.extensions.filters.network.ext_authz.v3.ExtAuthz.class);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      problems.error(filterPath + ".typed_config", "not a valid " + SupportedTypes.NETWORK_EXT_AUTHZ + ": " + e.getMessage());
      return null;
    }
    return io.keelson.dataplane.filter.extauthz.NetworkExtAuthzConfig.from(proto, filterPath + ".typed_config", problems);
  }

  /** A network filter before the terminal one: only envoy.filters.network.rbac is supported there. */
  private NetworkRbacConfig networkRbac(Filter filter, String filterPath, String listener) {
    String type = filter.hasTypedConfig() ? SupportedTypes.typeName(filter.getTypedConfig().getTypeUrl()) : null;
    if (!SupportedTypes.NETWORK_RBAC.equals(type)) {
      if (type == null && filter.getName().equals(NetworkRbacConfig.FILTER_NAME)) {
        problems.error(filterPath + ".typed_config", "filter '" + filter.getName()
            + "' has no typed_config; expected an " + SupportedTypes.NETWORK_RBAC);
      } else if (!problems.reportedAt(filterPath + ".typed_config")) {
        problems.error(filterPath, "listener '" + listener + "': network filter '" + filter.getName() + "'"
            + (type == null ? "" : " (" + type + ")") + " is not supported before the last filter; expected only "
            + NetworkRbacConfig.FILTER_NAME + ", envoy.filters.network.ext_authz, envoy.filters.network.local_ratelimit and"
            + " envoy.filters.network.connection_limit followed by envoy.filters.network.tcp_proxy");
      }
      return null;
    }
    try {
      return NetworkRbacConfig.from(filter.getTypedConfig());
    } catch (ConfigException e) {
      problems.error(filterPath + ".typed_config", e.getMessage());
      return null;
    }
  }

  /** The chain's last (terminal) network filter, translated: an HttpConnectionManagerConfig, a TcpProxyConfig, or null. */
  private Object terminalFilter(Filter filter, String filterPath) {
    if (!filter.hasTypedConfig()) {
      if (problems.reportedAt(filterPath + ".typed_config")) {
        return null;
      }
      problems.error(filterPath + ".typed_config", "filter '" + filter.getName()
          + "' has no typed_config; expected an HttpConnectionManager or a TcpProxy");
      return null;
    }
    Any typed = filter.getTypedConfig();
    String type = SupportedTypes.typeName(typed.getTypeUrl());
    try {
      if (type.equals(SupportedTypes.HCM)) {
        return httpConnectionManager(typed.unpack(HttpConnectionManager.class), filterPath + ".typed_config");
      } else if (type.equals(SupportedTypes.TCP_PROXY)) {
        return tcpProxy(typed.unpack(TcpProxy.class), filterPath + ".typed_config");
      }
      problems.error(filterPath + ".typed_config", "network filter type " + type
          + " is not supported; expected " + SupportedTypes.HCM + " or " + SupportedTypes.TCP_PROXY);
      return null;
    } catch (InvalidProtocolBufferException e) {
      problems.error(filterPath + ".typed_config", "cannot read " + type + ": " + e.getMessage());
      return null;
    }
  }

  private HttpConnectionManagerConfig httpConnectionManager(HttpConnectionManager hcm, String path) {
    boolean ok = true;
    if (hcm.getStatPrefix().isEmpty()) {
      problems.error(path + ".stat_prefix", "a stat_prefix is required (Envoy requires it too)");
      ok = false;
    }
    switch (hcm.getCodecType()) {
      case AUTO, HTTP1 -> {
        if (translatingQuic && hcm.getCodecType() == HttpConnectionManager.CodecType.HTTP1) {
          problems.error(path + ".codec_type", "HTTP1 on a QUIC listener; expected HTTP3 or AUTO");
          ok = false;
        }
      }
      case HTTP3 -> {
        if (!translatingQuic) {
          problems.error(path + ".codec_type", "HTTP3 needs a QUIC listener (address.socket_address.protocol: UDP with"
              + " udp_listener_config.quic_options); expected AUTO or HTTP1 here");
          ok = false;
        }
      }
      default -> {
        problems.error(path + ".codec_type", hcm.getCodecType() + " is not supported; expected AUTO or HTTP1"
            + (translatingQuic ? " (HTTP3 on a QUIC listener)" : ""));
        ok = false;
      }
    }
    if (hcm.hasHttp3ProtocolOptions() && !translatingQuic) {
      problems.error(path + ".http3_protocol_options", "applies to QUIC listeners only; expected it unset here");
      ok = false;
    }
    List<HttpFilterConfig> filters = HttpFilterTranslator.translate(hcm.getHttpFiltersList(), path + ".http_filters", problems);
    ok &= filters != null;
    RouteConfig routeConfig;
    if (hcm.hasRds() && rdsRoutes != null) {
      String name = hcm.getRds().getRouteConfigName();
      var delivered = rdsRoutes.get(name);
      if (name.isEmpty() || delivered == null) {
        problems.error(path + ".rds.route_config_name", "route configuration '" + name
            + "' has not been delivered by RDS; expected one of " + rdsRoutes.keySet());
        return null;
      }
      // A route_config delivered by RDS is the same message as an inline one; report it under its own name.
      routeConfig = routes.translate(delivered, "RouteConfiguration[" + name + "]");
    } else if (!hcm.hasRouteConfig()) {
      problems.error(path + ".route_config", "an inline route_config is required; expected route_config"
          + (rdsRoutes == null ? " (rds needs an xDS source: dynamic_resources.ads_config)" : " or rds"));
      return null;
    } else {
      routeConfig = routes.translate(hcm.getRouteConfig(), path + ".route_config");
    }
    if (filters != null) {
      ok &= StreamedBodyFilters.check(filters, routeConfig, path, problems);
    }
    int maxHeaderBytes = HttpLimits.DEFAULT.maxHeaderBytes();
    if (hcm.hasMaxRequestHeadersKb()) {
      int kb = hcm.getMaxRequestHeadersKb().getValue();
      if (kb < 1 || kb > 8192) {
        problems.error(path + ".max_request_headers_kb", kb + " is out of range; expected 1-8192");
        ok = false;
      }
      maxHeaderBytes = kb * 1024;
    }
    int maxHeaderCount = HttpLimits.DEFAULT.maxHeaderCount();
    Duration idle = DEFAULT_HTTP_IDLE_TIMEOUT;
    Duration maxConnectionDuration = Duration.ZERO;
    if (hcm.hasCommonHttpProtocolOptions()) {
      var common = hcm.getCommonHttpProtocolOptions();
      if (common.hasMaxHeadersCount()) {
        maxHeaderCount = common.getMaxHeadersCount().getValue();
        if (maxHeaderCount < 1) {
          problems.error(path + ".common_http_protocol_options.max_headers_count", "0 is out of range; expected at least 1");
          ok = false;
        }
      }
      if (common.hasIdleTimeout()) {
        idle = RouteTranslator.duration(common.getIdleTimeout());
      }
      if (common.hasMaxConnectionDuration()) {
        maxConnectionDuration = RouteTranslator.duration(common.getMaxConnectionDuration());
      }
      if (common.hasMaxRequestsPerConnection()) {
        problems.error(path + ".common_http_protocol_options.max_requests_per_connection", "is not supported on a"
            + " connection manager (downstream connections); it is supported on clusters' upstream protocol options");
        ok = false;
      }
    }
    List<io.keelson.dataplane.config.AccessLogConfig> accessLogs =
        AccessLogTranslator.translate(hcm.getAccessLogList(), path + ".access_log", problems);
    io.keelson.dataplane.config.Http2Options http2 = http2Defaults;
    if (hcm.hasHttp2ProtocolOptions()) {
      http2 = Http2OptionsTranslator.translate(hcm.getHttp2ProtocolOptions(), http2, path + ".http2_protocol_options", problems);
      if (hcm.getHttp2ProtocolOptions().hasConnectionKeepalive()) {
        problems.warn(path + ".http2_protocol_options.connection_keepalive",
            "ignored on a connection manager: PING keepalive is sent to HTTP/2 upstreams (cluster options) only");
      }
      ok &= http2 != null;
    }
    Duration streamIdle = hcm.hasStreamIdleTimeout()
        ? RouteTranslator.duration(hcm.getStreamIdleTimeout())
        : HttpConnectionManagerConfig.DEFAULT_STREAM_IDLE_TIMEOUT;
    io.keelson.dataplane.config.InternalAddresses internal = internalAddresses(hcm, path);
    ok &= internal != null;
    io.keelson.dataplane.config.PathNormalization pathNormalization = pathNormalization(hcm, path);
    ok &= pathNormalization != null;
    io.keelson.dataplane.config.LocalReplyConfig localReply = hcm.hasLocalReplyConfig()
        ? LocalReplyTranslator.translate(hcm.getLocalReplyConfig(), path + ".local_reply_config", problems)
        : io.keelson.dataplane.config.LocalReplyConfig.NONE;
    ok &= localReply != null;
    if (!ok) {
      return null;
    }
    return new HttpConnectionManagerConfig(
        hcm.getStatPrefix(),
        routeConfig,
        new HttpLimits(HttpLimits.DEFAULT.maxRequestLineBytes(), maxHeaderBytes, maxHeaderCount),
        hcm.hasUseRemoteAddress() && hcm.getUseRemoteAddress().getValue(),
        !hcm.hasGenerateRequestId() || hcm.getGenerateRequestId().getValue(),
        hcm.hasRequestTimeout() ? RouteTranslator.duration(hcm.getRequestTimeout()) : Duration.ZERO,
        idle,
        accessLogs,
        TracingTranslator.translate(hcm, path + ".tracing", egress, problems),
        maxConnectionDuration,
        http2,
        streamIdle,
        filters,
        upgrades(hcm, path),
        forwardClientCert(hcm),
        HttpFilterTranslator.suppressEnvoyHeaders(hcm.getHttpFiltersList()),
        hcm.getXffNumTrustedHops(),
        hcm.getSkipXffAppend(),
        internal,
        hcm.getPreserveExternalRequestId(),
        pathNormalization,
        localReply);
  }

  /**
   * HCM normalize_path (absent: false, Envoy's default without its runtime key), merge_slashes and
   * path_with_escaped_slashes_action (IMPLEMENTATION_SPECIFIC_DEFAULT: Envoy's KEEP_UNCHANGED); null (reported) for an
   * action this version does not know.
   */
  private io.keelson.dataplane.config.PathNormalization pathNormalization(HttpConnectionManager hcm, String path) {
    var action = switch (hcm.getPathWithEscapedSlashesAction()) {
      case IMPLEMENTATION_SPECIFIC_DEFAULT, KEEP_UNCHANGED ->
          io.keelson.dataplane.config.PathNormalization.EscapedSlashes.KEEP_UNCHANGED;
      case REJECT_REQUEST -> io.keelson.dataplane.config.PathNormalization.EscapedSlashes.REJECT_REQUEST;
      case UNESCAPE_AND_REDIRECT -> io.keelson.dataplane.config.PathNormalization.EscapedSlashes.UNESCAPE_AND_REDIRECT;
      case UNESCAPE_AND_FORWARD -> io.keelson.dataplane.config.PathNormalization.EscapedSlashes.UNESCAPE_AND_FORWARD;
      default -> null;
    };
    if (action == null) {
      problems.error(path + ".path_with_escaped_slashes_action", hcm.getPathWithEscapedSlashesActionValue()
          + " is not a known action; expected KEEP_UNCHANGED, REJECT_REQUEST, UNESCAPE_AND_REDIRECT or UNESCAPE_AND_FORWARD");
      return null;
    }
    return new io.keelson.dataplane.config.PathNormalization(
        hcm.hasNormalizePath() && hcm.getNormalizePath().getValue(), hcm.getMergeSlashes(), action);
  }

  /**
   * HCM internal_address_config as a precomputed table; absent, Envoy's current default: no address is internal
   * (RFC 1918 and loopback were trusted before Envoy 1.36). Null (reported) when a range is not an address prefix.
   */
  private io.keelson.dataplane.config.InternalAddresses internalAddresses(HttpConnectionManager hcm, String path) {
    if (!hcm.hasInternalAddressConfig()) {
      return io.keelson.dataplane.config.InternalAddresses.NONE;
    }
    var config = hcm.getInternalAddressConfig();
    List<io.keelson.dataplane.rbac.CidrRange> ranges = new ArrayList<>();
    boolean ok = true;
    for (int i = 0; i < config.getCidrRangesCount(); i++) {
      var r = config.getCidrRanges(i);
      String at = path + ".internal_address_config.cidr_ranges[" + i + "]";
      if (!r.hasPrefixLen()) {
        // Envoy reads an absent prefix_len as 0, which makes every address internal: too easy to do by accident.
        problems.error(at + ".prefix_len", "a prefix_len is required (e.g. 8 for 10.0.0.0/8); write prefix_len: 0 to"
            + " make every address internal");
        ok = false;
        continue;
      }
      try {
        ranges.add(io.keelson.dataplane.rbac.CidrRange.of(r.getAddressPrefix(), r.getPrefixLen().getValue()));
      } catch (IllegalArgumentException e) {
        problems.error(at, e.getMessage() + "; expected an IP address_prefix (e.g. 10.0.0.0) and a prefix_len (e.g. 8)");
        ok = false;
      }
    }
    return ok ? new io.keelson.dataplane.config.InternalAddresses(config.getUnixSockets(), ranges) : null;
  }

  /** HCM upgrade_configs: type (lower case) to enabled (default true); custom filter chains are rejected by SupportedFields. */
  private java.util.Map<String, Boolean> upgrades(HttpConnectionManager hcm, String path) {
    java.util.Map<String, Boolean> out = new java.util.HashMap<>();
    for (int i = 0; i < hcm.getUpgradeConfigsCount(); i++) {
      var u = hcm.getUpgradeConfigs(i);
      if (u.getUpgradeType().isEmpty()) {
        problems.error(path + ".upgrade_configs[" + i + "].upgrade_type", "an upgrade type is required (e.g. websocket)");
        continue;
      }
      out.put(u.getUpgradeType().toLowerCase(java.util.Locale.ROOT), !u.hasEnabled() || u.getEnabled().getValue());
    }
    return out;
  }

  private TcpProxyConfig tcpProxy(TcpProxy proxy, String path) {
    if (proxy.getStatPrefix().isEmpty()) {
      problems.error(path + ".stat_prefix", "a stat_prefix is required (Envoy requires it too)");
      return null;
    }
    List<RouteAction.WeightedCluster> clusters = new ArrayList<>();
    long total = 0;
    switch (proxy.getClusterSpecifierCase()) {
      case CLUSTER -> {
        tcpReferences.add(new RouteTranslator.ClusterReference(proxy.getCluster(), path + ".cluster", proxy.getStatPrefix()));
        clusters.add(new RouteAction.WeightedCluster(proxy.getCluster(), 1, HeaderMutations.NONE, HeaderMutations.NONE));
        total = 1;
      }
      case WEIGHTED_CLUSTERS -> {
        var list = proxy.getWeightedClusters().getClustersList();
        for (int i = 0; i < list.size(); i++) {
          var cw = list.get(i);
          String at = path + ".weighted_clusters.clusters[" + i + "]";
          if (cw.getWeight() < 1) {
            problems.error(at + ".weight", "0 is out of range; expected at least 1");
            continue;
          }
          tcpReferences.add(new RouteTranslator.ClusterReference(cw.getName(), at + ".name", proxy.getStatPrefix()));
          clusters.add(new RouteAction.WeightedCluster(cw.getName(), cw.getWeight(), HeaderMutations.NONE, HeaderMutations.NONE));
          total += Integer.toUnsignedLong(cw.getWeight());
        }
        if (total == 0 || total > Integer.MAX_VALUE) {
          problems.error(path + ".weighted_clusters", "the total weight is " + total + "; expected 1-" + Integer.MAX_VALUE);
          return null;
        }
      }
      default -> {
        problems.error(path, "a cluster is required; expected cluster or weighted_clusters");
        return null;
      }
    }
    Duration idle = proxy.hasIdleTimeout() ? RouteTranslator.duration(proxy.getIdleTimeout()) : TcpProxyConfig.DEFAULT_IDLE_TIMEOUT;
    List<io.keelson.dataplane.config.AccessLogConfig> logs =
        AccessLogTranslator.translate(proxy.getAccessLogList(), path + ".access_log", problems);
    io.keelson.dataplane.config.TcpTunnelingConfig tunneling = null;
    if (proxy.hasTunnelingConfig()) {
      tunneling = tunneling(proxy.getTunnelingConfig(), path + ".tunneling_config");
      if (tunneling == null) {
        return null;
      }
      for (RouteAction.WeightedCluster c : clusters) {
        tunnelReferences.add(new TunnelReference(new RouteTranslator.ClusterReference(c.name(),
            path + ".tunneling_config", proxy.getStatPrefix()), tunneling.usePost()));
      }
    }
    boolean hashSourceIp = false;
    for (int i = 0; i < proxy.getHashPolicyCount(); i++) {
      io.envoyproxy.envoy.type.v3.HashPolicy h = proxy.getHashPolicy(i);
      if (h.hasSourceIp()) {
        hashSourceIp = true;
      } else {
        problems.error(path + ".hash_policy[" + i + "]", h.getPolicySpecifierCase()
            + " is not supported; expected source_ip");
      }
    }
    return new TcpProxyConfig(proxy.getStatPrefix(), clusters, (int) total, idle, List.of(), logs,
        proxy.getAccessLogOptions().getFlushAccessLogOnConnected(),
        proxy.getAccessLogOptions().hasAccessLogFlushInterval()
            ? RouteTranslator.duration(proxy.getAccessLogOptions().getAccessLogFlushInterval()) : null).withTunneling(tunneling)
        .withHashSourceIp(hashSourceIp);
  }

  /** tcp_proxy tunneling_config: hostname and header values parsed once (their command operators checked here). */
  private io.keelson.dataplane.config.TcpTunnelingConfig tunneling(TcpProxy.TunnelingConfig t, String path) {
    int before = problems.count();
    var hostname = template(t.getHostname(), path + ".hostname");
    if (t.getHostname().isEmpty()) {
      problems.error(path + ".hostname", "is required (the CONNECT request's :authority, e.g. host.example:443)");
    }
    if (!t.getPostPath().isEmpty() && !t.getUsePost()) {
      problems.error(path + ".post_path", "is set without use_post: true; expected use_post with post_path (as Envoy)");
    }
    if (!t.getPostPath().isEmpty() && !t.getPostPath().startsWith("/")) {
      problems.error(path + ".post_path", "'" + t.getPostPath() + "' does not start with '/'");
    }
    List<io.keelson.dataplane.config.TcpTunnelingConfig.Header> headers = new ArrayList<>();
    for (int i = 0; i < t.getHeadersToAddCount(); i++) {
      var option = t.getHeadersToAdd(i);
      String at = path + ".headers_to_add[" + i + "].header";
      String name = option.getHeader().getKey().toLowerCase(java.util.Locale.ROOT);
      if (name.isEmpty() || name.startsWith(":") || name.equals("host")) {
        problems.error(at + ".key", "'" + option.getHeader().getKey()
            + "' cannot be added; expected a header name that is neither a pseudo-header nor Host (as Envoy)");
        continue;
      }
      if (!HeaderMutationTranslator.wellFormed(option.getHeader().getKey(), option.getHeader().getValue(), at, problems)) {
        continue;
      }
      boolean append = option.hasAppend() ? option.getAppend().getValue()
          : option.getAppendAction() != io.envoyproxy.envoy.config.core.v3.HeaderValueOption.HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD;
      var value = template(option.getHeader().getValue(), at + ".value");
      if (value != null) {
        headers.add(new io.keelson.dataplane.config.TcpTunnelingConfig.Header(name, value, append));
      }
    }
    if (problems.count() != before || hostname == null) {
      return null;
    }
    return new io.keelson.dataplane.config.TcpTunnelingConfig(hostname, t.getUsePost(),
        t.getUsePost() ? (t.getPostPath().isEmpty() ? "/" : t.getPostPath()) : null, headers);
  }

  private io.keelson.dataplane.config.TcpTunnelingConfig.Template template(String text, String path) {
    try {
      return io.keelson.dataplane.config.TcpTunnelingConfig.Template.parse(text);
    } catch (IllegalArgumentException e) {
      problems.error(path, e.getMessage());
      return null;
    }
  }

  /** Every route and tcp_proxy cluster reference must name a defined cluster that its listener kind can balance. */
  void checkReferences(Map<String, ClusterConfig> clusters, Map<String, String> clusterPaths) {
    java.util.Set<String> reported = new java.util.HashSet<>();
    for (RouteTranslator.ClusterReference ref : routes.references()) {
      if (!clusterPaths.containsKey(ref.cluster())) {
        problems.error(ref.path(), "route '" + ref.routeName() + "' names cluster '" + ref.cluster()
            + "', which is not defined; expected one of " + clusterPaths.keySet());
        continue;
      }
      ClusterConfig cluster = clusters.get(ref.cluster());
      if (cluster != null && cluster.proxyProtocolVersion() != 0 && reported.add(ref.cluster())) {
        problems.error(clusterPaths.get(ref.cluster()) + ".transport_socket", "cluster '" + ref.cluster() + "' has the "
            + UpstreamProxyProtocolTranslator.NAME + " transport socket and route '" + ref.routeName() + "' sends HTTP"
            + " to it; PROXY protocol to upstreams is supported for tcp_proxy only: expected a tcp_proxy cluster");
        continue;
      }
      // Report each cluster once even when several routes use it.
      if (cluster != null && !cluster.lbPolicy().runsOnSocketPath() && reported.add(ref.cluster())) {
        problems.error(clusterPaths.get(ref.cluster()) + ".lb_policy", cluster.lbPolicy()
            + " is not supported on HTTP listeners; expected one of ROUND_ROBIN, LEAST_REQUEST, RANDOM");
      }
    }
    for (RouteTranslator.ClusterReference ref : tcpReferences) {
      if (!clusterPaths.containsKey(ref.cluster())) {
        problems.error(ref.path(), "tcp_proxy '" + ref.routeName() + "' names cluster '" + ref.cluster()
            + "', which is not defined; expected one of " + clusterPaths.keySet());
      }
    }
    for (TunnelReference tunnel : tunnelReferences) {
      RouteTranslator.ClusterReference ref = tunnel.ref();
      ClusterConfig cluster = clusters.get(ref.cluster());
      if (cluster != null && cluster.proxyProtocolVersion() != 0) {
        problems.error(ref.path(), "tcp_proxy '" + ref.routeName() + "' tunnels over cluster '" + ref.cluster()
            + "', which has the " + UpstreamProxyProtocolTranslator.NAME + " transport socket; expected a cluster"
            + " without it, or no tunneling_config (tunnels, over HTTP/1.1 or shared HTTP/2 connections, do not send"
            + " the PROXY header)");
      }
      if (tunnel.usePost() && cluster != null && !cluster.http2Upstream()) { // a CONNECT goes over HTTP/1.1 too
        problems.error(ref.path(), "tcp_proxy '" + ref.routeName() + "' tunnels over cluster '" + ref.cluster()
            + "' with use_post, which is not HTTP/2; expected the cluster to have http2_protocol_options (or "
            + "typed_extension_protocol_options with explicit_http_config.http2_protocol_options), or no use_post (a CONNECT "
            + "tunnel goes over HTTP/1.1 too): POST tunnels over HTTP/1.1 are not supported");
      }
    }
  }

  AdminConfig admin(Bootstrap bootstrap) {
    if (!bootstrap.hasAdmin() || !bootstrap.getAdmin().hasAddress()) {
      return null;
    }
    SocketAddress sa = Addresses.socketAddress(problems, true, bootstrap.getAdmin().getAddress(), "admin.address");
    return sa == null ? null : new AdminConfig(sa.getAddress(), sa.getPortValue());
  }
}
