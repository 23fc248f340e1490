package io.keelson.dataplane.intercept;

import io.keelson.dataplane.internal.ffm.OriginalDst;
import io.keelson.dataplane.transport.Transport;
import io.netty.channel.Channel;
import io.netty.channel.unix.UnixChannel;
import io.netty.util.AttributeKey;
import java.net.Inet6Address;
import java.net.InetSocketAddress;

/**
 * A downstream connection's original destination, as Envoy's {@code envoy.filters.listener.original_dst} restores
 * it: {@link #restore} reads {@code SO_ORIGINAL_DST} once when the connection is accepted and, when iptables
 * redirected it, keeps that address on the channel; from then on {@link #localAddress} is the connection's local
 * address for filter-chain matching, RBAC, access logs and {@code ORIGINAL_DST} clusters. A connection that was not
 * redirected keeps its real local address, and has no original destination ({@link #of} is null), so an
 * {@code ORIGINAL_DST} cluster never connects a proxy to its own listener.
 *
 * <p>Threading: {@link #restore} runs on the connection's event loop (one non-blocking system call); the readers
 * may run on any thread (a channel attribute).
 */
public final class OriginalDestination {
  private static final AttributeKey<InetSocketAddress> RESTORED =
      AttributeKey.valueOf(OriginalDestination.class, "restored");

  private OriginalDestination() {}

  /** Whether connections of {@code transport} expose the file descriptor {@code SO_ORIGINAL_DST} needs. */
  public static boolean supports(Transport transport) {
    return transport != Transport.NIO;
  }

  /** Why a listener with the original_dst filter cannot run on {@code transport} (NIO), or null when it can. */
  public static String unsupportedReason(Transport transport) {
    return supports(transport) ? null : "envoy.filters.listener.original_dst reads SO_ORIGINAL_DST from the socket's file"
        + " descriptor, which the NIO transport does not expose; run the proxy with --transport epoll or io_uring";
  }

  /**
   * The listener filter: reads the accepted connection's original destination and keeps it when it differs from
   * the socket's local address (the connection was redirected). Returns the connection's destination from now on.
   *
   * @throws IllegalStateException when {@code ch} is not a native (epoll or io_uring) channel
   */
  public static InetSocketAddress restore(Channel ch) {
    InetSocketAddress local = (InetSocketAddress) ch.localAddress();
    if (!(ch instanceof UnixChannel unix)) {
      throw new IllegalStateException(unsupportedReason(Transport.NIO));
    }
    boolean ipv6 = local != null && local.getAddress() instanceof Inet6Address;
    InetSocketAddress original = OriginalDst.read(unix.fd().intValue(), ipv6);
    if (original == null || original.equals(local)) {
      return local;
    }
    ch.attr(RESTORED).set(original);
    return original;
  }

  /** The connection's local address as its filters see it: the restored original destination, else the socket's. */
  public static InetSocketAddress localAddress(Channel ch) {
    InetSocketAddress restored = ch.attr(RESTORED).get();
    if (restored != null) {
      return restored;
    }
    return ch instanceof io.netty.handler.codec.quic.QuicChannel quic // its localAddress() is a connection id
        ? (InetSocketAddress) quic.localSocketAddress() : (InetSocketAddress) ch.localAddress();
  }

  /**
   * The original destination an {@code ORIGINAL_DST} cluster connects to: the restored address, or null when the
   * connection was not redirected (or its listener has no original_dst filter).
   */
  public static InetSocketAddress of(Channel ch) {
    return ch.attr(RESTORED).get();
  }

  /** Sets the restored destination (a test stands in for the kernel with it). */
  static void set(Channel ch, InetSocketAddress original) {
    ch.attr(RESTORED).set(original);
  }
}
