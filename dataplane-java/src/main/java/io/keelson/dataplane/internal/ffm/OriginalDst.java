package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;

/**
 * A redirected TCP connection's original destination through libc's {@code getsockopt}: {@code SOL_IP /
 * SO_ORIGINAL_DST} (IPv4, a {@code struct sockaddr_in}) or {@code SOL_IPV6 / IP6T_SO_ORIGINAL_DST} (IPv6, a
 * {@code struct sockaddr_in6}), which netfilter answers from the connection's conntrack entry after an iptables
 * {@code REDIRECT}/{@code DNAT}. Envoy's {@code envoy.filters.listener.original_dst} does the same.
 *
 * <pre>
 * sockaddr_in  (16 bytes): | family u16 (host order) | port u16 (network order) | addr 4 bytes | zero 8 |
 * sockaddr_in6 (28 bytes): | family u16 | port u16 (network) | flowinfo u32 | addr 16 bytes | scope_id u32 |
 * </pre>
 *
 * <p>Threading: any thread; each thread reuses its own native buffer (allocated on its first call), so a call
 * allocates nothing native. The call does not block (conntrack lookup under the socket lock).
 */
public final class OriginalDst {
  static final int SOL_IP = 0;
  static final int SOL_IPV6 = 41;
  /** {@code SO_ORIGINAL_DST} in linux/netfilter_ipv4.h; {@code IP6T_SO_ORIGINAL_DST} has the same value. */
  static final int SO_ORIGINAL_DST = 80;
  static final int AF_INET = 2;
  static final int AF_INET6 = 10;
  static final int SOCKADDR_IN_BYTES = 16;
  static final int SOCKADDR_IN6_BYTES = 28;
  /** Room for either address, and the socklen_t after it. */
  private static final int BUFFER_BYTES = 32;
  private static final int LENGTH_OFFSET = BUFFER_BYTES;
  private static final long FAMILY_OFFSET = 0;
  private static final long PORT_OFFSET = 2;
  private static final long IN_ADDR_OFFSET = 4;
  private static final long IN6_ADDR_OFFSET = 8;
  private static final java.lang.foreign.ValueLayout.OfShort PORT_BE =
      JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN).withByteAlignment(1);
  private static final java.lang.foreign.ValueLayout.OfShort FAMILY = JAVA_SHORT.withByteAlignment(1);

  private static final class Calls {
    static final MethodHandle GETSOCKOPT = Libc.withErrno("getsockopt",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    private Calls() {}
  }

  /** One thread's buffers: the sockaddr and its length, and the captured errno. */
  private record Scratch(MemorySegment buffer, MemorySegment state) {
    static Scratch allocate() {
      Arena arena = Arena.ofAuto(); // once per thread, freed with the thread's scratch
      return new Scratch(arena.allocate(BUFFER_BYTES + 4, 8), arena.allocate(Libc.ERRNO_STATE));
    }
  }

  private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::allocate);

  private OriginalDst() {}

  /**
   * The original destination of the connected TCP socket {@code fd}, or null when the kernel has none for it (the
   * connection was not redirected and conntrack has no entry, ENOENT; or netfilter is not loaded, ENOPROTOOPT). A
   * socket that was not redirected may also answer with its own local address: the caller compares.
   *
   * @param ipv6 whether the connection is IPv6 (an IPv4 connection on a dual-stack socket is IPv4 here)
   */
  public static InetSocketAddress read(int fd, boolean ipv6) {
    Scratch s = SCRATCH.get();
    MemorySegment buffer = s.buffer();
    buffer.set(JAVA_INT, LENGTH_OFFSET, ipv6 ? SOCKADDR_IN6_BYTES : SOCKADDR_IN_BYTES);
    int rc;
    try {
      rc = (int) Calls.GETSOCKOPT.invokeExact(s.state(), fd, ipv6 ? SOL_IPV6 : SOL_IP, SO_ORIGINAL_DST,
          buffer, buffer.asSlice(LENGTH_OFFSET, 4));
    } catch (Throwable t) {
      throw new IllegalStateException("getsockopt(SO_ORIGINAL_DST) could not be called", t);
    }
    if (rc != 0) {
      return null; // errno in s.state(): ENOENT or ENOPROTOOPT mean "not redirected"; either way none
    }
    return decode(buffer, buffer.get(JAVA_INT, LENGTH_OFFSET));
  }

  /** The errno of this thread's last failed {@link #read} (for diagnostics and tests). */
  public static int lastErrno() {
    return Libc.errno(SCRATCH.get().state());
  }

  /**
   * Decodes a {@code sockaddr_in} or {@code sockaddr_in6} of {@code length} bytes; null when the family is neither
   * or the length is too short for it.
   */
  static InetSocketAddress decode(MemorySegment sockaddr, int length) {
    if (length < 4) {
      return null;
    }
    int family = Short.toUnsignedInt(sockaddr.get(FAMILY, FAMILY_OFFSET));
    int port = Short.toUnsignedInt(sockaddr.get(PORT_BE, PORT_OFFSET));
    byte[] ip;
    if (family == AF_INET && length >= 8) {
      ip = new byte[4];
      MemorySegment.copy(sockaddr, JAVA_BYTE, IN_ADDR_OFFSET, ip, 0, 4);
    } else if (family == AF_INET6 && length >= 24) {
      ip = new byte[16];
      MemorySegment.copy(sockaddr, JAVA_BYTE, IN6_ADDR_OFFSET, ip, 0, 16);
    } else {
      return null;
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(ip), port); // 4 or 16 bytes: never a lookup
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // unreachable: the length is 4 or 16
    }
  }
}
