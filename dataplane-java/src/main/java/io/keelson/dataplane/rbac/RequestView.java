package io.keelson.dataplane.rbac;

/**
 * What RBAC looks at, read in place from the connection and request the caller already has. For a
 * network (L4) check the HTTP parts answer null. Implementations are used by one thread at a time.
 */
public interface RequestView {
  /** The request method, or null at L4. */
  String method();

  /** The path without the query string, or null at L4. */
  String path();

  /** The request's authority (Host / :authority), or null. */
  String host();

  /**
   * A header's value (several values comma-joined), or null when absent. {@code lowerName} is lower
   * case; the pseudo-headers {@code :method}, {@code :path} and {@code :authority} are answered too.
   */
  String header(String lowerName);

  /** True when the peer presented a verified certificate (mTLS). */
  boolean authenticated();

  /** The peer certificate's SPIFFE URI SAN (e.g. {@code spiffe://cluster.local/ns/a/sa/b}), or null. */
  String principal();

  /**
   * The socket peer's address bytes (4 or 16), not to be modified: Envoy's {@code direct_remote_ip}, "always the
   * physical peer" even when a PROXY protocol header or x-forwarded-for names another client.
   */
  byte[] directRemoteIp();

  /**
   * The downstream address: the client a PROXY protocol header carried, else the peer; never x-forwarded-for
   * (Envoy's {@code source_ip}: "will honor proxy protocol, but will not honor XFF").
   */
  byte[] sourceIp();

  /** The original client's address (after trusted X-Forwarded-For hops; {@link #sourceIp} when none). */
  byte[] remoteIp();

  /** The local address the connection arrived on. */
  byte[] destinationIp();

  int destinationPort();

  /** The TLS SNI, or null. */
  String requestedServerName();

  /**
   * Dynamic metadata earlier HTTP filters set for this request (Envoy's metadata matcher input: a
   * verified JWT's payload under {@code envoy.filters.http.jwt_authn}, {@code request.auth.principal}
   * under {@code istio_authn}), or null. None at L4.
   */
  default Object metadata(String filter, String[] path) {
    return null;
  }
}
