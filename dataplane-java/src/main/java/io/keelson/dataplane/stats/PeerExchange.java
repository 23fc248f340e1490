package io.keelson.dataplane.stats;

import io.keelson.dataplane.edge.HeaderAccess;

/**
 * Istio's HTTP metadata exchange for one exchange at a time, and who the peer of that exchange is for Istio's labels.
 * Toward an in-mesh cluster (the outbound side) the request gets this proxy's {@code x-envoy-peer-metadata-id} and
 * {@code x-envoy-peer-metadata}, and the response's are read and removed before the client sees them; at an
 * {@code inbound|} cluster (the inbound side) the request's are read and removed before the app sees them, and the
 * response gets this proxy's. Inbound, the downstream certificate's SPIFFE ID names the source even without the
 * headers. Mutable, reused across the exchanges of one connection (or one HTTP/2 stream); confined to its event loop.
 */
public final class PeerExchange {
  private static final String CONTENT_TYPE = "content-type";
  private static final String GRPC_CONTENT_TYPE = "application/grpc";
  private static final String GRPC_STATUS = "grpc-status";

  private final StatsRegistry stats;
  private boolean inbound;
  private boolean outboundMesh;
  private MeshIdentity peer = MeshIdentity.UNKNOWN_IDENTITY;
  private String certPrincipal;
  private int attributes;
  private int grpcStatus = -1;
  private IstioMetricsConfig metrics;
  private long tags;

  public PeerExchange(StatsRegistry stats) {
    this.stats = stats;
  }

  /**
   * A request about to go to {@code cluster}: reads and removes the peer's headers (inbound), or adds this proxy's (an
   * in-mesh cluster). {@code downstreamPeerUri} is the downstream connection's peer certificate URI SAN (null for none).
   */
  public <H> void onRequest(HeaderAccess<H> access, H headers, String cluster, boolean inMeshCluster,
      String downstreamPeerUri) {
    peer = MeshIdentity.UNKNOWN_IDENTITY;
    grpcStatus = -1;
    attributes = isGrpc(access.getAll(headers, CONTENT_TYPE)) ? IstioPeer.GRPC : 0;
    inbound = cluster != null && cluster.startsWith("inbound|");
    outboundMesh = !inbound && inMeshCluster;
    certPrincipal = null;
    if (inbound) {
      peer = take(access, headers);
      if (downstreamPeerUri != null) {
        certPrincipal = downstreamPeerUri;
        attributes |= IstioPeer.MUTUAL_TLS;
      }
    } else if (outboundMesh) {
      PeerMetadata.Own own = stats.ownPeerMetadata();
      access.set(headers, PeerMetadata.ID_HEADER, own.id());
      access.set(headers, PeerMetadata.HEADER, own.value());
    }
  }

  /**
   * The connection manager's metric overrides ({@code metrics}, null for none) and the request's tags they evaluate:
   * the method, the path (with its query), the headers; the downstream peer's and the local address only when
   * {@link IstioMetricsConfig#needsAddresses()} (null otherwise).
   */
  public <H> void onRequestTags(IstioMetricsConfig metrics, HeaderAccess<H> access, H headers, String method,
      String path, java.net.InetSocketAddress remote, java.net.InetSocketAddress local) {
    this.metrics = metrics;
    this.tags = metrics == null ? 0 : metrics.key(access, headers, method, path, remote, local);
  }

  /**
   * The response head on its way to the client: this proxy's headers added (inbound), or the destination's read and
   * removed (outbound, in-mesh); its grpc-status noted (a trailers-only gRPC response).
   */
  public <H> void onResponse(HeaderAccess<H> access, H headers) {
    if (inbound) {
      PeerMetadata.Own own = stats.ownPeerMetadata();
      access.set(headers, PeerMetadata.ID_HEADER, own.id());
      access.set(headers, PeerMetadata.HEADER, own.value());
    } else if (outboundMesh) {
      peer = take(access, headers);
    }
    if ((attributes & IstioPeer.GRPC) != 0) {
      grpcStatus(access.getAll(headers, GRPC_STATUS));
    }
  }

  /** The response's trailers: their grpc-status, for a gRPC request. */
  public <H> void onTrailers(HeaderAccess<H> access, H trailers) {
    if ((attributes & IstioPeer.GRPC) != 0) {
      grpcStatus(access.getAll(trailers, GRPC_STATUS));
    }
  }

  /** Records the finished exchange into {@code d} with this exchange's peer. */
  public void record(IstioDestination d, int status, ResponseFlag flag, long durationNanos, long requestBytes,
      long responseBytes) {
    d.record(metrics, tags, peer, certPrincipal, attributes, status, grpcStatus, flag, durationNanos, requestBytes,
        responseBytes);
  }

  /** Forgets the exchange (a request that never reached a cluster records as before: no peer). */
  public void reset() {
    inbound = false;
    outboundMesh = false;
    peer = MeshIdentity.UNKNOWN_IDENTITY;
    certPrincipal = null;
    attributes = 0;
    grpcStatus = -1;
    metrics = null;
    tags = 0;
  }

  private <H> MeshIdentity take(HeaderAccess<H> access, H headers) {
    String value = access.getAll(headers, PeerMetadata.HEADER);
    if (value == null) {
      access.remove(headers, PeerMetadata.ID_HEADER);
      return MeshIdentity.UNKNOWN_IDENTITY;
    }
    access.remove(headers, PeerMetadata.HEADER);
    access.remove(headers, PeerMetadata.ID_HEADER);
    return stats.peerMetadata().get(value);
  }

  private void grpcStatus(String value) {
    if (value == null || value.isEmpty() || value.length() > 2) {
      return;
    }
    int v = 0;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < '0' || c > '9') {
        return;
      }
      v = v * 10 + (c - '0');
    }
    grpcStatus = v;
  }

  static boolean isGrpc(String contentType) {
    return contentType != null && contentType.regionMatches(true, 0, GRPC_CONTENT_TYPE, 0, GRPC_CONTENT_TYPE.length());
  }
}
