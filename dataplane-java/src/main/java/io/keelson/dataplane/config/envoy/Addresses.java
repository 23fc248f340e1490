package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.SocketAddress;

/** Reads Envoy socket addresses, reporting what is missing or out of range. Stateless. */
final class Addresses {
  private Addresses() {}

  static SocketAddress socketAddress(Problems problems, boolean present, Address address, String path) {
    return socketAddress(problems, present, address, path, SocketAddress.Protocol.TCP);
  }

  /** The address, or null after reporting why not; {@code protocol} is the one the caller runs (TCP, or UDP listeners). */
  static SocketAddress socketAddress(Problems problems, boolean present, Address address, String path,
      SocketAddress.Protocol protocol) {
    if (!present || !address.hasSocketAddress()) {
      problems.error(path, "a socket_address is required");
      return null;
    }
    SocketAddress sa = address.getSocketAddress();
    String at = path + ".socket_address";
    boolean ok = true;
    if (sa.getAddress().isEmpty()) {
      problems.error(at + ".address", "an address is required");
      ok = false;
    }
    if (sa.getPortValue() > 65535) {
      problems.error(at + ".port_value", Integer.toUnsignedString(sa.getPortValue()) + " is out of range; expected 0-65535");
      ok = false;
    }
    if (sa.getProtocol() != protocol) {
      problems.error(at + ".protocol", sa.getProtocol() + " is not supported here; expected " + protocol);
      ok = false;
    }
    return ok ? sa : null;
  }
}
