package io.keelson.dataplane.internal.ffm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;

/**
 * Linux kernel TLS (kTLS) through libc, no shim: attaching the {@code tls} upper-layer protocol to a TCP
 * socket ({@code setsockopt(SOL_TCP, TCP_ULP, "tls")}), handing it a direction's keys
 * ({@code setsockopt(SOL_TLS, TLS_TX | TLS_RX, crypto_info)}), and the start-up probe that does the first
 * on a real connected loopback socket pair. Every call returns 0 or the errno; nothing throws for a
 * kernel answer. The byte layout of {@code crypto_info} is built by the caller
 * ({@code tls.offload.CryptoInfoLayout}) and checked against {@code <linux/tls.h>} by a test.
 *
 * <p>Threading: stateless; each call acts on the descriptor it is given (the caller owns it).
 */
public final class KernelTls {
  static final int AF_INET = 2;
  static final int SOCK_STREAM = 1;
  static final int SOCK_CLOEXEC = 0x80000;
  /** {@code SOL_TCP} ({@code IPPROTO_TCP}). */
  public static final int SOL_TCP = 6;
  /** {@code <linux/tcp.h>}: attach an upper-layer protocol. */
  public static final int TCP_ULP = 31;
  /** {@code <bits/socket.h>}. */
  public static final int SOL_TLS = 282;
  /** {@code <linux/tls.h>}: transmit (encrypt) parameters. */
  public static final int TLS_TX = 1;
  /** {@code <linux/tls.h>}: receive (decrypt) parameters. */
  public static final int TLS_RX = 2;
  /** sockaddr_in: family(2) port(2, network order) addr(4) zero(8). */
  private static final int SOCKADDR_IN_BYTES = 16;

  private static final class Calls {
    static final MethodHandle SOCKET = Libc.withErrno("socket",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle BIND = Libc.withErrno("bind",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle LISTEN = Libc.withErrno("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    static final MethodHandle GETSOCKNAME = Libc.withErrno("getsockname",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle CONNECT = Libc.withErrno("connect",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle ACCEPT = Libc.withErrno("accept",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    static final MethodHandle SETSOCKOPT = Libc.withErrno("setsockopt",
        FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    static final MethodHandle CLOSE = Libc.plain("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private Calls() {}
  }

  private KernelTls() {}

  /**
   * Connects two TCP sockets over 127.0.0.1 and attaches the {@code tls} ULP to the client side: 0 when
   * the kernel accepts it, else its errno (ENOENT: no {@code tls} module / CONFIG_TLS). A failure to set
   * up the loopback pair itself throws {@link IllegalStateException} naming the step.
   */
  public static int probeLoopback() {
    int listener = -1;
    int client = -1;
    int accepted = -1;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(Libc.ERRNO_STATE);
      listener = check("socket", (int) Calls.SOCKET.invokeExact(state, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), state);
      MemorySegment addr = loopback(arena, 0);
      check("bind 127.0.0.1:0", (int) Calls.BIND.invokeExact(state, listener, addr, SOCKADDR_IN_BYTES), state);
      check("listen", (int) Calls.LISTEN.invokeExact(state, listener, 1), state);
      MemorySegment len = arena.allocate(JAVA_INT);
      len.set(JAVA_INT, 0, SOCKADDR_IN_BYTES);
      check("getsockname", (int) Calls.GETSOCKNAME.invokeExact(state, listener, addr, len), state);
      client = check("socket", (int) Calls.SOCKET.invokeExact(state, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), state);
      check("connect", (int) Calls.CONNECT.invokeExact(state, client, addr, SOCKADDR_IN_BYTES), state);
      accepted = check("accept", (int) Calls.ACCEPT.invokeExact(state, listener, MemorySegment.NULL, MemorySegment.NULL),
          state);
      return attachUlp(client);
    } catch (IllegalStateException e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException("kernel TLS probe", t);
    } finally {
      close(accepted);
      close(client);
      close(listener);
    }
  }

  /** {@code setsockopt(fd, SOL_TCP, TCP_ULP, "tls")}: 0 or the errno. The socket must be connected. */
  public static int attachUlp(int fd) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment name = arena.allocateFrom("tls");
      return setsockopt(arena, fd, SOL_TCP, TCP_ULP, name, 3);
    }
  }

  /**
   * {@code setsockopt(fd, SOL_TLS, TLS_TX or TLS_RX, cryptoInfo)}: 0 or the errno. Only after
   * {@link #attachUlp} succeeded on {@code fd}. The caller wipes {@code cryptoInfo} afterwards; the native
   * copy is zeroed here before it is freed.
   */
  public static int setCryptoInfo(int fd, boolean transmit, byte[] cryptoInfo) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment info = arena.allocate(cryptoInfo.length);
      MemorySegment.copy(cryptoInfo, 0, info, JAVA_BYTE, 0, cryptoInfo.length);
      try {
        return setsockopt(arena, fd, SOL_TLS, transmit ? TLS_TX : TLS_RX, info, cryptoInfo.length);
      } finally {
        info.fill((byte) 0);
      }
    }
  }

  private static int setsockopt(Arena arena, int fd, int level, int name, MemorySegment value, int length) {
    MemorySegment state = arena.allocate(Libc.ERRNO_STATE);
    try {
      int rc = (int) Calls.SETSOCKOPT.invokeExact(state, fd, level, name, value, length);
      return rc == 0 ? 0 : Libc.errno(state);
    } catch (Throwable t) {
      throw new IllegalStateException("setsockopt(" + fd + ", " + level + ", " + name + ")", t);
    }
  }

  private static MemorySegment loopback(Arena arena, int port) {
    MemorySegment a = arena.allocate(SOCKADDR_IN_BYTES);
    a.set(JAVA_SHORT_UNALIGNED, 0, (short) AF_INET);
    a.set(JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 2, (short) port);
    a.set(JAVA_BYTE, 4, (byte) 127);
    a.set(JAVA_BYTE, 7, (byte) 1);
    return a;
  }

  private static int check(String step, int rc, MemorySegment state) {
    if (rc < 0) {
      int errno = Libc.errno(state);
      throw new IllegalStateException("kernel TLS probe: " + step + " failed: " + errnoName(errno) + " (errno " + errno + ")");
    }
    return rc;
  }

  private static void close(int fd) {
    if (fd >= 0) {
      try {
        int ignored = (int) Calls.CLOSE.invokeExact(fd);
      } catch (Throwable ignored) {
        // a probe socket that does not close is leaked, not fatal
      }
    }
  }

  /** The symbolic name of the errnos these calls return (Linux x86-64/arm64 numbers), else "errno N". */
  public static String errnoName(int errno) {
    return switch (errno) {
      case 0 -> "OK";
      case 1 -> "EPERM";
      case 2 -> "ENOENT";
      case 9 -> "EBADF";
      case 12 -> "ENOMEM";
      case 13 -> "EACCES";
      case 16 -> "EBUSY";
      case 17 -> "EEXIST";
      case 22 -> "EINVAL";
      case 92 -> "ENOPROTOOPT";
      case 95 -> "EOPNOTSUPP";
      case 107 -> "ENOTCONN";
      default -> "errno " + errno;
    };
  }
}
