package io.keelson.dataplane.rbac;

import io.keelson.dataplane.route.RequestHead;
import java.net.InetSocketAddress;

/**
 * The {@link RequestView} an HTTP filter hands to RBAC: the request head the codec already parsed,
 * plus the connection's facts (peer identity from the TLS session, addresses, SNI) set once per
 * connection. One instance per connection (or per filter thread), re-pointed per request with
 * {@link #head}: nothing is allocated per request. Not thread-safe: confined to the thread that
 * evaluates.
 */
public final class HeadRequestView extends ConnectionFacts {
  private RequestHead head;
  private io.keelson.dataplane.filter.DynamicMetadata metadata;

  /**
   * Sets the connection's facts.
   *
   * @param peer          the socket's peer (direct_remote_ip)
   * @param remote        the downstream remote address: the one a PROXY protocol header restored, else the peer
   *                      (source_ip, and remote_ip unless {@link #remoteIp} names an x-forwarded-for client)
   * @param peerSpiffeUri the verified peer certificate's SPIFFE URI SAN; null when the peer presented none
   * @param mtls          whether the peer presented a verified certificate
   */
  public HeadRequestView connection(InetSocketAddress peer, InetSocketAddress remote, InetSocketAddress local,
      boolean mtls, String peerSpiffeUri, String sni) {
    this.directRemoteIp = peer == null ? NONE : peer.getAddress().getAddress();
    this.sourceIp = remote == null ? NONE : remote.getAddress().getAddress();
    this.destinationIp = local == null ? NONE : local.getAddress().getAddress();
    this.destinationPort = local == null ? 0 : local.getPort();
    this.authenticated = mtls;
    this.principal = peerSpiffeUri;
    this.sni = sni;
    this.remoteIp = null;
    return this;
  }

  /** The original client when trusted proxies (X-Forwarded-For hops) put one in front; null = the direct peer. */
  public HeadRequestView remoteIp(byte[] originalClient) {
    this.remoteIp = originalClient;
    return this;
  }

  public HeadRequestView head(RequestHead h) {
    this.head = h;
    return this;
  }

  /** The request's dynamic metadata (set by earlier filters), or null. */
  public HeadRequestView metadata(io.keelson.dataplane.filter.DynamicMetadata m) {
    this.metadata = m;
    return this;
  }

  @Override
  public Object metadata(String filter, String[] path) {
    return metadata == null ? null : metadata.value(filter, path);
  }

  @Override
  public String method() {
    return head == null ? null : head.method();
  }

  @Override
  public String path() {
    return head == null ? null : head.path();
  }

  @Override
  public String host() {
    return head == null ? null : head.authority();
  }

  @Override
  public String header(String lowerName) {
    if (head == null) {
      return null;
    }
    return switch (lowerName) {
      case ":method" -> head.method();
      case ":path" -> head.path();
      case ":authority", "host" -> head.authority();
      default -> head.header(lowerName);
    };
  }
}
