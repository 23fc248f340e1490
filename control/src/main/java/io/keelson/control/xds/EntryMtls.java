package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer;
import io.keelson.control.policy.Policy;
import java.util.List;
import java.util.TreeSet;

/**
 * Mesh mTLS to a ServiceEntry's endpoints that run a sidecar (VMs: WorkloadEntries or endpoints labelled
 * {@code security.istio.io/tlsMode: istio}), as istiod builds it for a caller with an identity: without a
 * DestinationRule {@code tls}, auto mTLS in one cluster, {@code transport_socket_matches} {@value #ISTIO_MATCH}
 * (endpoints whose metadata {@link #ISTIO_ENDPOINT} says {@code tlsMode: istio}: the sidecar's certificate, the mesh
 * roots, {@code istio} ALPN) then {@value #DISABLED_MATCH} (every other endpoint: plaintext); with {@code tls} mode
 * ISTIO_MUTUAL, mesh mTLS to every endpoint (its {@code sni}; its {@code subjectAltNames}, when given, in place of the
 * SAN list below); with SIMPLE, MUTUAL or DISABLE, none; a MESH_EXTERNAL entry gets no auto
 * mTLS. The server's SPIFFE ID must be one of the entry's {@code subjectAltNames} or its endpoints'
 * {@code serviceAccount}s (istiod's SAN list: every account of the service; none given: any mesh identity).
 * Immutable.
 */
final class EntryMtls {
  static final String FILTER = "envoy.transport_socket_match";
  static final String ISTIO_MATCH = "tlsMode-istio";
  static final String DISABLED_MATCH = "tlsMode-disabled";
  private static final Struct ISTIO = Struct.newBuilder()
      .putFields("tlsMode", Value.newBuilder().setStringValue(Policy.EntryEndpoint.ISTIO).build()).build();
  /** The metadata of an endpoint that takes mesh mTLS, as istiod writes it. */
  static final Metadata ISTIO_ENDPOINT = Metadata.newBuilder().putFilterMetadata(FILTER, ISTIO).build();
  private static final TransportSocket RAW = TransportSocket.newBuilder().setName("envoy.transport_sockets.raw_buffer")
      .setTypedConfig(Any.pack(RawBuffer.getDefaultInstance())).build();

  private final List<String> spiffeIds;
  private final boolean external;

  /**
   * For a caller in {@code trustDomain}, to {@code se}'s {@code endpoints} (all of them: the SAN list is the service's,
   * with its {@code subjectAltNames}).
   */
  EntryMtls(String trustDomain, Policy.ServiceEntry se, List<Policy.EntryEndpoint> endpoints) {
    external = se.external();
    TreeSet<String> ids = new TreeSet<>(se.subjectAltNames());
    for (Policy.EntryEndpoint ep : endpoints) {
      if (ep.identity() != null) {
        String[] nsSa = ep.identity().split("/", 2);
        ids.add(new io.keelson.dataplane.security.SpiffeId(trustDomain, nsSa[0], nsSa[1]).uri());
      }
    }
    spiffeIds = List.copyOf(ids);
  }

  /** The SPIFFE IDs a destination may present. */
  List<String> spiffeIds() {
    return spiffeIds;
  }

  /**
   * Sets {@code c}'s transport per {@code tls} (the cluster's DestinationRule tls, or null), as described above; a
   * MESH_EXTERNAL entry gets no auto mTLS (istiod's rule), only an explicit ISTIO_MUTUAL.
   */
  void apply(Cluster.Builder c, Policy.ClientTls tls, boolean http2) {
    if (tls != null && tls.istioMutual()) {
      MeshMtls.withPeerExchange(c.setTransportSocket(MeshMtls.istioMutual(tls, spiffeIds, http2)));
    } else if (tls == null && !external) {
      MeshMtls.withPeerExchange(c).addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName(ISTIO_MATCH).setMatch(ISTIO)
              .setTransportSocket(MeshMtls.upstream(spiffeIds, http2)))
          .addTransportSocketMatches(Cluster.TransportSocketMatch.newBuilder().setName(DISABLED_MATCH)
              .setMatch(Struct.getDefaultInstance()).setTransportSocket(RAW));
    }
  }
}
