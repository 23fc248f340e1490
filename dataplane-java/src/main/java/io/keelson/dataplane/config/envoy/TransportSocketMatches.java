package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.TransportSocketMatch;
import io.keelson.dataplane.tls.ClientTls;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A cluster's {@code transport_socket_matches}, as Envoy resolves them: an endpoint takes the first entry whose
 * {@code match} fields all equal its {@code envoy.transport_socket_match} metadata (an empty match takes every
 * endpoint), else the first whose fields equal its locality's, else the cluster's {@code transport_socket}. Each
 * entry's socket is TLS ({@code envoy.transport_sockets.tls}) or {@code raw_buffer}. Istio's auto mTLS sends this
 * shape: mTLS to endpoints labelled {@code tlsMode: istio}, plaintext to the rest. Resolved once per endpoint at
 * translation, never per connection. Used by one thread.
 */
final class TransportSocketMatches {
  /** The metadata filter name Envoy reads. */
  static final String FILTER = "envoy.transport_socket_match";

  private final List<TransportSocketMatch> matches;
  private final List<Map<String, Value>> criteria;

  private TransportSocketMatches(List<TransportSocketMatch> matches, List<Map<String, Value>> criteria) {
    this.matches = List.copyOf(matches);
    this.criteria = List.copyOf(criteria);
  }

  static final TransportSocketMatches NONE = new TransportSocketMatches(List.of(), List.of());

  /**
   * {@code c}'s matches; null after reporting a problem. As istiod wraps them for a DestinationRule's
   * {@code proxyProtocol}, an entry's socket may be {@code upstream_proxy_protocol} around TLS or raw_buffer, of the
   * version the cluster's own socket has ({@code proxyProtocolVersion}; the data plane sends one PROXY header version
   * per cluster).
   */
  static TransportSocketMatches of(Cluster c, String path, boolean http2, int proxyProtocolVersion, Problems problems) {
    if (c.getTransportSocketMatchesCount() == 0) {
      return NONE;
    }
    List<TransportSocketMatch> out = new ArrayList<>();
    List<Map<String, Value>> criteria = new ArrayList<>();
    boolean ok = true;
    java.util.Set<String> names = new java.util.HashSet<>();
    for (int i = 0; i < c.getTransportSocketMatchesCount(); i++) {
      Cluster.TransportSocketMatch m = c.getTransportSocketMatches(i);
      String at = path + ".transport_socket_matches[" + i + "]";
      if (m.getName().isEmpty()) {
        problems.error(at + ".name", "a transport socket match name is required");
        ok = false;
      } else if (!names.add(m.getName())) {
        problems.error(at + ".name", "'" + m.getName() + "' is used twice; expected unique names");
        ok = false;
      }
      ClientTls tls = null;
      if (!m.hasTransportSocket()) {
        problems.error(at + ".transport_socket", "is required; expected envoy.transport_sockets.tls or raw_buffer");
        ok = false;
        continue;
      }
      TransportSocket socket = m.getTransportSocket();
      String socketPath = at + ".transport_socket";
      var wrapped = UpstreamProxyProtocolTranslator.unwrap(socket, socketPath, problems);
      int version = wrapped == null ? 0 : wrapped.version();
      if (wrapped == null && UpstreamProxyProtocolTranslator.isUpstreamProxyProtocol(socket)) {
        ok = false; // reported
        continue;
      } else if (version != proxyProtocolVersion) {
        problems.error(socketPath, "sends PROXY protocol version " + version + " (0: none) while the cluster's"
            + " transport_socket sends " + proxyProtocolVersion + "; expected the same for every endpoint of a cluster");
        ok = false;
        continue;
      }
      if (wrapped != null) {
        socket = wrapped.inner();
        socketPath = wrapped.innerPath();
      }
      if (socket != null && !UpstreamProxyProtocolTranslator.isRawBuffer(socket)) {
        tls = new TlsTranslator(problems).upstream(socket, socketPath,
            "cluster '" + c.getName() + "' match '" + m.getName() + "'", http2);
        ok &= tls != null;
      }
      out.add(new TransportSocketMatch(m.getName(), tls));
      criteria.add(m.getMatch().getFieldsMap());
    }
    return ok ? new TransportSocketMatches(out, criteria) : null;
  }

  List<TransportSocketMatch> matches() {
    return matches;
  }

  /**
   * The index of the entry an endpoint with {@code endpoint} metadata in a locality with {@code locality} metadata
   * takes, or {@link EndpointConfig#CLUSTER_SOCKET}.
   */
  int resolve(Metadata endpoint, Metadata locality) {
    int found = first(endpoint);
    return found != EndpointConfig.CLUSTER_SOCKET ? found : first(locality);
  }

  private int first(Metadata metadata) {
    Struct labels = metadata.getFilterMetadataOrDefault(FILTER, Struct.getDefaultInstance());
    for (int i = 0; i < criteria.size(); i++) {
      if (matches(criteria.get(i), labels)) {
        return i;
      }
    }
    return EndpointConfig.CLUSTER_SOCKET;
  }

  private static boolean matches(Map<String, Value> wanted, Struct labels) {
    for (var e : wanted.entrySet()) {
      if (!e.getValue().equals(labels.getFieldsMap().get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }
}
