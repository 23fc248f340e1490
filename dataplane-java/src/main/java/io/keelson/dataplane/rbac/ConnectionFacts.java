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
  byte[] directRemoteIp = NONE;
  /** The original client behind trusted proxies; null = the direct peer. */
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
  public byte[] remoteIp() {
    return remoteIp != null ? remoteIp : directRemoteIp;
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
