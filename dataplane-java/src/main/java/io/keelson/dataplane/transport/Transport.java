package io.keelson.dataplane.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.util.Locale;

/** The socket transports Keelson runs on. Immutable; {@link #select} picks the best available. */
public enum Transport {
  EPOLL,
  IO_URING,
  NIO;

  /**
   * The transport to use: the requested one; for "auto" (or none) io_uring where the kernel offers it, else
   * epoll, else NIO. io_uring first: it submits a loop iteration's reads and writes in one system call
   * (about 0.35 per proxied request against 4 with epoll; docs/performance.md). Never null.
   */
  public static Transport select(String requested) {
    if (requested == null || requested.isBlank() || requested.equalsIgnoreCase("auto")) {
      return auto(IoUring.isAvailable(), Epoll.isAvailable());
    }
    Transport t;
    try {
      t = valueOf(requested.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "transport '" + requested + "' is not one of: auto, epoll, io_uring, nio", e);
    }
    Throwable cause = t.unavailabilityCause();
    if (cause != null) {
      throw new IllegalStateException("transport " + t.label() + " is not available here: " + cause, cause);
    }
    return t;
  }

  /** What "auto" picks given which native transports are available. */
  static Transport auto(boolean ioUring, boolean epoll) {
    return ioUring ? IO_URING : epoll ? EPOLL : NIO;
  }

  /** Why this transport cannot run here, or null when it can. */
  public Throwable unavailabilityCause() {
    return switch (this) {
      case EPOLL -> Epoll.unavailabilityCause();
      case IO_URING -> IoUring.unavailabilityCause();
      case NIO -> null;
    };
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  private IoHandlerFactory ioHandlerFactory() {
    return switch (this) {
      case EPOLL -> EpollIoHandler.newFactory();
      case IO_URING -> IoUringIoHandler.newFactory();
      case NIO -> NioIoHandler.newFactory();
    };
  }

  public EventLoopGroup newGroup(int threads, String name) {
    return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), ioHandlerFactory());
  }

  public Class<? extends ServerChannel> serverChannel() {
    return switch (this) {
      case EPOLL -> EpollServerSocketChannel.class;
      case IO_URING -> IoUringServerSocketChannel.class;
      case NIO -> NioServerSocketChannel.class;
    };
  }

  /** The UDP socket channel of this transport (a udp_proxy listener's socket and its sessions' upstream sockets). */
  public Class<? extends io.netty.channel.socket.DatagramChannel> datagramChannel() {
    return switch (this) {
      case EPOLL -> io.netty.channel.epoll.EpollDatagramChannel.class;
      case IO_URING -> io.netty.channel.uring.IoUringDatagramChannel.class;
      case NIO -> io.netty.channel.socket.nio.NioDatagramChannel.class;
    };
  }

  public Class<? extends SocketChannel> clientChannel() {
    return switch (this) {
      case EPOLL -> EpollSocketChannel.class;
      case IO_URING -> IoUringSocketChannel.class;
      case NIO -> NioSocketChannel.class;
    };
  }

  /**
   * Sets what a cluster asks of every upstream connection on {@code b} to {@code destination}: its source address for
   * the destination's IP family ({@link #bindSource}, {@link io.keelson.dataplane.config.ClusterConfig#sourceAddress(
   * java.net.InetSocketAddress)}) and its TCP keepalive (SO_KEEPALIVE, with TCP_KEEPIDLE, TCP_KEEPINTVL and
   * TCP_KEEPCNT where set).
   */
  public io.netty.bootstrap.Bootstrap upstream(io.netty.bootstrap.Bootstrap b,
      io.keelson.dataplane.config.ClusterConfig cluster, java.net.InetSocketAddress destination) {
    io.keelson.dataplane.config.TcpKeepalive k = cluster.tcpKeepalive();
    if (k != null) {
      b.option(io.netty.channel.ChannelOption.SO_KEEPALIVE, true);
      keepalive(b, k.timeSeconds(), k.intervalSeconds(), k.probes());
    }
    return bindSource(b, cluster.sourceAddress(destination));
  }

  private void keepalive(io.netty.bootstrap.Bootstrap b, Integer idle, Integer interval, Integer count) {
    switch (this) {
      case EPOLL -> {
        set(b, io.netty.channel.epoll.EpollChannelOption.TCP_KEEPIDLE, idle);
        set(b, io.netty.channel.epoll.EpollChannelOption.TCP_KEEPINTVL, interval);
        set(b, io.netty.channel.epoll.EpollChannelOption.TCP_KEEPCNT, count);
      }
      case IO_URING -> {
        set(b, io.netty.channel.uring.IoUringChannelOption.TCP_KEEPIDLE, idle);
        set(b, io.netty.channel.uring.IoUringChannelOption.TCP_KEEPINTVL, interval);
        set(b, io.netty.channel.uring.IoUringChannelOption.TCP_KEEPCNT, count);
      }
      case NIO -> {
        set(b, io.netty.channel.socket.nio.NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPIDLE), idle);
        set(b, io.netty.channel.socket.nio.NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPINTERVAL), interval);
        set(b, io.netty.channel.socket.nio.NioChannelOption.of(jdk.net.ExtendedSocketOptions.TCP_KEEPCOUNT), count);
      }
    }
  }

  private static void set(io.netty.bootstrap.Bootstrap b, io.netty.channel.ChannelOption<Integer> option, Integer v) {
    if (v != null) {
      b.option(option, v);
    }
  }

  /**
   * Makes {@code b}'s connections bind {@code source} first (a cluster's upstream_bind_config; null: the kernel's
   * choice, nothing set). On epoll also IP_BIND_ADDRESS_NO_PORT, as Envoy sets it for a port-0 source: the port is
   * picked at connect time for the 4-tuple, so connections from one source address to many destinations do not share
   * one ephemeral port range. io_uring and NIO have no such option in Netty: the port is picked at bind time there.
   */
  public io.netty.bootstrap.Bootstrap bindSource(io.netty.bootstrap.Bootstrap b, java.net.InetSocketAddress source) {
    if (source == null) {
      return b;
    }
    if (this == EPOLL) {
      b.option(io.netty.channel.epoll.EpollChannelOption.IP_BIND_ADDRESS_NO_PORT, true);
    }
    return b.localAddress(source);
  }
}
