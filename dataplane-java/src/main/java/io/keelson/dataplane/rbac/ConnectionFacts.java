package io.keelson.dataplane.rbac;

/**
 * The connection-level half of a {@link RequestView}: the peer's verified identity, addresses,
 * destination port and SNI, which every view answers the same way. Subclasses set the fields and
 * answer the request-level half. Not thread-safe.
 */
abstract class ConnectionFacts implements RequestView {
  static final byte[] NONE = new byte[0];

  boolean authenticated;
  String principal;
  /** The socket's peer (never what a PROXY protocol header claims). */
  byte[] directRemoteIp = NONE;
  /** The downstream address: the client a PROXY protocol header carried, else the peer (never x-forwarded-for). */
  byte[] sourceIp = NONE;
  /** The original client behind trusted proxies (x-forwarded-for); null = {@link #sourceIp}. */
  byte[] remoteIp;
  byte[] destinationIp = NONE;
  int destinationPort;
  String sni;

  @Override
  public boolean authenticated() {
    return authenticated;
  }

  @Override
  public String principal() {
    return principal;
  }

  @Override
  public byte[] directRemoteIp() {
    return directRemoteIp;
  }

  @Override
  public byte[] sourceIp() {
    return sourceIp;
  }

  @Override
  public byte[] remoteIp() {
    return remoteIp != null ? remoteIp : sourceIp;
  }

  @Override
  public byte[] destinationIp() {
    return destinationIp;
  }

  @Override
  public int destinationPort() {
    return destinationPort;
  }

  @Override
  public String requestedServerName() {
    return sni;
  }
}
