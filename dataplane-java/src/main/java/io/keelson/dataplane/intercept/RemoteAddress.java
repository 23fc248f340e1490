package io.keelson.dataplane.intercept;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;

/**
 * A downstream connection's remote address as Envoy's filters see it: the client's address a PROXY protocol header
 * carried ({@link ProxyProtocolReader} restores it, as Envoy's proxy_protocol listener filter replaces the
 * connection's remote address), else the socket's peer. Everything that reads "the downstream remote address"
 * (x-forwarded-for, RBAC {@code source_ip} and {@code remote_ip}, access logs, hash policies, rate limits,
 * ext_authz) asks here; RBAC {@code direct_remote_ip}, "always the physical peer" in Envoy, asks {@link #peer}. Threading: restored on the connection's event loop before its filter chain runs; read on any
 * thread (a channel attribute).
 */
public final class RemoteAddress {
  private static final AttributeKey<InetSocketAddress> RESTORED = AttributeKey.valueOf(RemoteAddress.class, "restored");

  private RemoteAddress() {}

  /** The connection's remote address: the restored one, else the socket's (null when it has none). */
  public static InetSocketAddress of(Channel ch) {
    InetSocketAddress restored = ch.attr(RESTORED).get();
    return restored != null ? restored : peer(ch);
  }

  /** The socket's own peer, whatever a PROXY protocol header claimed (null when it has none). */
  public static InetSocketAddress peer(Channel ch) {
    if (ch instanceof io.netty.handler.codec.quic.QuicChannel quic) { // its remoteAddress() is a connection id
      return quic.remoteSocketAddress() instanceof InetSocketAddress a ? a : null;
    }
    return ch.remoteAddress() instanceof InetSocketAddress a ? a : null;
  }

  static void restore(Channel ch, InetSocketAddress remote) {
    ch.attr(RESTORED).set(remote);
  }
}
