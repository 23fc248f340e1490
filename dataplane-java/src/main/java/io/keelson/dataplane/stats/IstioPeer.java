package io.keelson.dataplane.stats;

/**
 * Who is at the other end of a request, for Istio's labels: the peer's exchanged metadata (or unknown), the SPIFFE ID
 * of the connection's peer certificate (null for none) and request attributes ({@link #MUTUAL_TLS},
 * {@link #GRPC}). Immutable.
 *
 * @param identity    the peer's workload from {@code x-envoy-peer-metadata}, {@link MeshIdentity#UNKNOWN_IDENTITY}
 *                    when none came
 * @param certPrincipal the downstream certificate's SPIFFE ID (inbound); the only source of the principal and namespace
 * @param attributes  a bit set of {@link #MUTUAL_TLS} and {@link #GRPC}
 */
public record IstioPeer(MeshIdentity identity, String certPrincipal, int attributes) {
  /** The downstream connection is mutual TLS (connection_security_policy="mutual_tls" on the inbound reporter). */
  public static final int MUTUAL_TLS = 1;
  /** A gRPC request (request_protocol="grpc"). */
  public static final int GRPC = 2;
  static final IstioPeer UNKNOWN = new IstioPeer(MeshIdentity.UNKNOWN_IDENTITY, null, 0);

  /** The unknown peer with request attributes {@code attrs} (a destination's overflow peer). */
  static IstioPeer overflow(int attrs) {
    return attrs == 0 ? UNKNOWN : new IstioPeer(MeshIdentity.UNKNOWN_IDENTITY, null, attrs);
  }

  /** True when this is the peer given; no allocation. */
  boolean is(MeshIdentity id, String principal, int attrs) {
    return attributes == attrs && (identity == id || identity.equals(id))
        && (certPrincipal == null ? principal == null : certPrincipal.equals(principal));
  }

  /**
   * The peer as its labels show it. With a certificate, the principal and namespace are the certificate's only (the
   * metadata is the caller's word; Istio's source_principal is the peer certificate's).
   */
  MeshIdentity labels() {
    if (certPrincipal == null) {
      return identity;
    }
    return new MeshIdentity(identity.workload(), MeshIdentity.spiffeNamespace(certPrincipal), identity.app(),
        identity.version(), certPrincipal, identity.cluster());
  }
}
