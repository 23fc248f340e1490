package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport;

/**
 * A cluster's {@code envoy.transport_sockets.upstream_proxy_protocol} transport socket: the PROXY protocol version and
 * the transport socket it wraps (raw_buffer, or TLS that the caller translates). Stateless.
 */
final class UpstreamProxyProtocolTranslator {
  static final String NAME = "envoy.transport_sockets.upstream_proxy_protocol";
  static final String RAW_BUFFER = "envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer";

  /**
   * The unwrapped socket.
   *
   * @param version   1 or 2
   * @param inner     the wrapped TLS transport socket, or null for raw_buffer (plaintext)
   * @param innerPath where {@code inner} is in the source
   */
  record Unwrapped(int version, TransportSocket inner, String innerPath) {}

  private UpstreamProxyProtocolTranslator() {}

  static boolean isUpstreamProxyProtocol(TransportSocket socket) {
    return socket != null && (socket.hasTypedConfig()
        ? SupportedTypes.UPSTREAM_PROXY_PROTOCOL.equals(SupportedTypes.typeName(socket.getTypedConfig().getTypeUrl()))
        : socket.getName().equals(NAME));
  }

  /** True for Envoy's {@code raw_buffer} (plaintext) transport socket, by its type or, without one, its name. */
  static boolean isRawBuffer(TransportSocket socket) {
    return socket.hasTypedConfig() ? RAW_BUFFER.equals(SupportedTypes.typeName(socket.getTypedConfig().getTypeUrl()))
        : socket.getName().equals("envoy.transport_sockets.raw_buffer");
  }

  /** The unwrapped socket; null when {@code socket} is not this one, or (reported) when it is a bad one. */
  static Unwrapped unwrap(TransportSocket socket, String path, Problems problems) {
    if (!isUpstreamProxyProtocol(socket)) {
      return null;
    }
    ProxyProtocolUpstreamTransport t;
    try {
      t = socket.getTypedConfig().unpack(ProxyProtocolUpstreamTransport.class);
    } catch (InvalidProtocolBufferException e) {
      problems.error(path + ".typed_config", "cannot read " + SupportedTypes.UPSTREAM_PROXY_PROTOCOL + ": " + e.getMessage());
      return null;
    }
    String at = path + ".typed_config";
    if (!t.hasTransportSocket()) {
      problems.error(at + ".transport_socket", "is required (Envoy's validation); expected the wrapped transport socket,"
          + " envoy.transport_sockets.raw_buffer or envoy.transport_sockets.tls");
      return null;
    }
    TransportSocket inner = t.getTransportSocket();
    boolean raw = isRawBuffer(inner);
    if (isUpstreamProxyProtocol(inner)) {
      problems.error(at + ".transport_socket", "wraps another upstream_proxy_protocol socket; expected raw_buffer or tls");
      return null;
    }
    int version = switch (t.getConfig().getVersion()) {
      case V1 -> 1;
      case V2 -> 2;
      default -> 0;
    };
    if (version == 0) {
      problems.error(at + ".config.version", "unknown version; expected V1 or V2");
      return null;
    }
    return new Unwrapped(version, raw ? null : inner, at + ".transport_socket");
  }
}
