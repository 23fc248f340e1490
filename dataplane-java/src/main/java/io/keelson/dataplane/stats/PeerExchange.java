package io.keelson.dataplane.stats;

import io.keelson.dataplane.edge.HeaderAccess;

/**
 * Istio's HTTP metadata exchange for one exchange at a time, and who the peer of that exchange is for Istio's labels.
 * Toward an in-mesh cluster (the outbound side) the request gets this proxy's {@code x-envoy-peer-metadata-id} and
 * {@code x-envoy-peer-metadata}, and the response's are read and removed before the client sees them; at an
 * {@code inbound|} cluster (the inbound side) the request's are removed before the app sees them and read only when
 * the caller is mesh mutual TLS (presented a certificate); only then does the response get this proxy's, and only when
 * the request carried the exchange header. A plaintext caller's headers are dropped unread (its peer is unknown), and
 * the source principal and namespace always come from the certificate, never from the metadata. Mutable, reused across the exchanges of one connection (or one HTTP/2 stream); confined to its event loop.
 */
public final class PeerExchange {
  private static final String CONTENT_TYPE = "content-type";
  private static final String GRPC_CONTENT_TYPE = "application/grpc";
  private static final String GRPC_STATUS = "grpc-status";

  private final StatsRegistry stats;
  private boolean inbound;
  private boolean outboundMesh;
  /** {@link #onRequest} ran for this exchange (a CONNECT tunnel's bytes never do: its tries leave headers alone). */
  private boolean requested;
  /** Inbound: the caller exchanged metadata over mutual TLS, so the response carries this proxy's. */
  private boolean answer;
  /** The request's {@code x-envoy-peer-metadata}, taken out at head time ({@link #onHead}); null for none. */
  private String offered;
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
   * The request head as it arrives, before any filter: both exchange headers are taken out (the value kept for
   * {@link #onRequest}), so that no filter (ext_authz, RBAC header rules) and no upstream sees a caller's claims, as
   * Istio's metadata exchange filter runs first in the chain.
   */
  public <H> void onHead(HeaderAccess<H> access, H headers) {
    offered = access.getAll(headers, PeerMetadata.HEADER);
    strip(access, headers);
  }

  /**
   * A request about to go to {@code cluster}: reads and removes the peer's headers (inbound), or adds this proxy's (an
   * in-mesh cluster). {@code downstreamPeerUri} is the downstream connection's peer certificate URI SAN (null for none).
   */
  public <H> void onRequest(HeaderAccess<H> access, H headers, String cluster, boolean inMeshCluster,
      String downstreamPeerUri) {
    requested = true;
    peer = MeshIdentity.UNKNOWN_IDENTITY;
    grpcStatus = -1;
    attributes = isGrpc(access.getAll(headers, CONTENT_TYPE)) ? IstioPeer.GRPC : 0;
    inbound = cluster != null && cluster.startsWith("inbound|");
    outboundMesh = !inbound && inMeshCluster;
    certPrincipal = null;
    answer = false;
    if (inbound) {
      String value = offered != null ? offered : access.getAll(headers, PeerMetadata.HEADER);
      strip(access, headers);
      if (downstreamPeerUri != null) {
        peer = value == null ? null : stats.peerMetadata().get(value);
        answer = peer != null;
        certPrincipal = downstreamPeerUri;
        attributes |= IstioPeer.MUTUAL_TLS;
      }
      if (peer == null) {
        peer = MeshIdentity.UNKNOWN_IDENTITY;
      }
    } else if (outboundMesh) {
      addOwn(access, headers);
    }
  }

  /**
   * One try of the request, towards an endpoint whose transport socket is ({@code inMeshEndpoint}) or is not in-mesh
   * TLS (a cluster's transport_socket_matches may mix both): outbound, this proxy's headers go only to an in-mesh try
   * (added, or removed before a plaintext one) and only an in-mesh try's response is read for the destination's.
   */
  public <H> void onTry(HeaderAccess<H> access, H headers, boolean inMeshEndpoint) {
    if (!requested || inbound || outboundMesh == inMeshEndpoint) {
      return;
    }
    outboundMesh = inMeshEndpoint;
    if (inMeshEndpoint) {
      addOwn(access, headers);
    } else {
      strip(access, headers);
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
   * The response head on its way to the client: this proxy's headers added (inbound, when the caller exchanged over
   * mutual TLS), or the destination's read and removed (outbound, in-mesh); its grpc-status noted (a trailers-only gRPC
   * response).
   */
  public <H> void onResponse(HeaderAccess<H> access, H headers) {
    if (answer) {
      addOwn(access, headers);
    } else if (outboundMesh) {
      MeshIdentity destination = take(access, headers);
      peer = destination == null ? MeshIdentity.UNKNOWN_IDENTITY : destination;
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
    requested = false;
    inbound = false;
    outboundMesh = false;
    answer = false;
    offered = null;
    peer = MeshIdentity.UNKNOWN_IDENTITY;
    certPrincipal = null;
    attributes = 0;
    grpcStatus = -1;
    metrics = null;
    tags = 0;
  }

  /** The peer the headers name (removed), or null when no metadata header came. */
  private <H> MeshIdentity take(HeaderAccess<H> access, H headers) {
    String value = access.getAll(headers, PeerMetadata.HEADER);
    strip(access, headers);
    return value == null ? null : stats.peerMetadata().get(value);
  }

  private <H> void addOwn(HeaderAccess<H> access, H headers) {
    PeerMetadata.Own own = stats.ownPeerMetadata();
    access.set(headers, PeerMetadata.ID_HEADER, own.id());
    access.set(headers, PeerMetadata.HEADER, own.value());
  }

  /** Removes both exchange headers. */
  public static <H> void strip(HeaderAccess<H> access, H headers) {
    access.remove(headers, PeerMetadata.HEADER);
    access.remove(headers, PeerMetadata.ID_HEADER);
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
