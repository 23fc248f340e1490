package io.keelson.dataplane.udp;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.stats.ClusterStats;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One downstream address's session: a UDP socket connected to the host the cluster's balancer picked (a DNS cluster's
 * hosts are resolved addresses), whose replies go back to the client from the listener's socket. Ends
 * when idle for the listener's idle timeout, when its host leaves the cluster, when its socket closes (or the kernel
 * destroys it), or when the listener closes (an ICMP error such as port unreachable is counted, the session kept); it
 * then gives its {@code max_connections} slot back. Confined to the listener's event loop, the upstream socket's too.
 */
final class UdpSession extends SimpleChannelInboundHandler<DatagramPacket> {
  /**
   * Datagrams held while the host name is looked up and the upstream socket connects; more are dropped (and counted),
   * never queued unbounded.
   */
  private static final int CONNECTING_LIMIT = 64;

  private final UdpProxyListener listener;
  final InetSocketAddress client;
  final EndpointConfig host;
  private final CircuitBreakers.Resources breaker;
  private final ClusterStats clusterStats;
  private final UdpProxyStats.Cluster udpStats;
  private ArrayDeque<ByteBuf> connecting = new ArrayDeque<>();
  private io.netty.channel.EventLoop loop;
  private Channel upstream;
  /** The same client's next session (to another host), with per-packet balancing; the listener's to keep. */
  UdpSession next;
  private final long startEpochMillis = System.currentTimeMillis();
  private final long startNanos = System.nanoTime();
  private long lastActivity = startNanos;
  private long bytesReceived; // from the client
  private long bytesSent; // to the client
  private boolean closed;

  UdpSession(UdpProxyListener listener, InetSocketAddress client, EndpointConfig host, CircuitBreakers.Resources breaker,
      ClusterStats clusterStats, UdpProxyStats.Cluster udpStats) {
    this.listener = listener;
    this.client = client;
    this.host = host;
    this.breaker = breaker;
    this.clusterStats = clusterStats;
    this.udpStats = udpStats;
  }

  /**
   * Starts the session on the listener's event loop {@code loop}: connects its upstream socket to the host's address (a
   * DNS cluster's hosts arrive resolved: io.keelson.dataplane.discovery; the client's datagrams wait for the connect).
   */
  void open(io.netty.channel.EventLoop loop) {
    this.loop = loop;
    clusterStats.cxTotal.increment();
    clusterStats.cxActive.increment();
    scheduleIdleCheck(listener.idleTimeoutNanos());
    connect(host.socketAddress());
  }

  private void connect(InetSocketAddress address) {
    if (closed) {
      return;
    }
    io.netty.channel.ChannelFuture connect = listener.connectUpstream(this, address);
    upstream = connect.channel();
    connect.addListener(f -> {
      if (!f.isSuccess()) {
        clusterStats.cxConnectFail.increment();
        close();
        return;
      }
      ArrayDeque<ByteBuf> held = connecting;
      connecting = null;
      while (!held.isEmpty()) {
        send(held.poll());
      }
    });
  }

  /** A datagram from the client (its buffer retained for this session). */
  void fromClient(ByteBuf content) {
    if (closed) {
      content.release();
      return;
    }
    lastActivity = System.nanoTime();
    bytesReceived += content.readableBytes();
    if (connecting != null) {
      if (connecting.size() >= CONNECTING_LIMIT) {
        content.release();
        listener.stats().rxDatagramsDropped.increment();
        return;
      }
      connecting.add(content);
      return;
    }
    send(content);
  }

  private void send(ByteBuf content) {
    if (!upstream.isWritable()) { // the send buffers are full: dropped, never queued on
      content.release();
      listener.stats().rxDatagramsDropped.increment();
      return;
    }
    udpStats.sessTxDatagrams().increment();
    udpStats.sessTxBytes().add(content.readableBytes());
    upstream.writeAndFlush(content, upstream.voidPromise());
  }

  /** A reply from the host: back to the client from the listener's socket. */
  @Override
  protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket reply) {
    if (closed) {
      return;
    }
    lastActivity = System.nanoTime();
    ByteBuf content = reply.content();
    udpStats.sessRxDatagrams().increment();
    udpStats.sessRxBytes().add(content.readableBytes());
    bytesSent += content.readableBytes();
    listener.toClient(content.retain(), client);
  }

  /**
   * An error on the session's socket. An ICMP destination unreachable from the host's side (ECONNREFUSED, EHOSTUNREACH,
   * ENETUNREACH on the connected socket) is counted ({@code sess_rx_errors}) and the session kept, as Envoy keeps it:
   * the host may come back, and a client sending to a dead host keeps one socket and one access log entry. ECONNABORTED
   * means the kernel destroyed the socket ({@code ss -K}, SOCK_DESTROY): it is closed, and the session ends with it
   * ({@link #channelInactive}). Another error (a datagram too large for the path) loses that datagram only.
   */
  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (unreachable(cause)) {
      udpStats.sessRxErrors().increment();
    } else if (aborted(cause)) {
      udpStats.sessRxErrors().increment();
      ctx.channel().close();
    } else {
      listener.stats().txErrors.increment();
    }
  }

  /** Linux's ECONNABORTED, negated as netty's native transports report errno (its Errors has no constant for it). */
  private static final int ECONNABORTED_NEGATIVE = -103;

  /** Whether {@code cause} says the kernel destroyed the socket (a native transport's ECONNABORTED). */
  private static boolean aborted(Throwable cause) {
    return cause instanceof io.netty.channel.unix.Errors.NativeIoException e && e.expectedErr() == ECONNABORTED_NEGATIVE;
  }

  /** Whether {@code cause} is an ICMP destination unreachable reported on a connected socket (NIO or native). */
  private static boolean unreachable(Throwable cause) {
    if (cause instanceof java.net.PortUnreachableException || cause instanceof java.net.NoRouteToHostException
        || cause instanceof java.net.ConnectException) {
      return true;
    }
    if (cause instanceof io.netty.channel.unix.Errors.NativeIoException e) {
      int err = e.expectedErr();
      return err == io.netty.channel.unix.Errors.ERROR_ECONNREFUSED_NEGATIVE
          || err == io.netty.channel.unix.Errors.ERROR_EHOSTUNREACH_NEGATIVE
          || err == io.netty.channel.unix.Errors.ERROR_ENETUNREACH_NEGATIVE;
    }
    return false;
  }

  /** The session's socket closed under it (not by {@link #close}): the session ends with it. */
  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    close();
    ctx.fireChannelInactive();
  }

  private void scheduleIdleCheck(long delayNanos) {
    loop.schedule(this::idleCheck, delayNanos, TimeUnit.NANOSECONDS);
  }

  private void idleCheck() {
    if (closed) {
      return;
    }
    long idleFor = System.nanoTime() - lastActivity;
    long timeout = listener.idleTimeoutNanos();
    if (idleFor >= timeout) {
      listener.stats().idleTimeout.increment();
      close();
    } else {
      scheduleIdleCheck(timeout - idleFor);
    }
  }

  /** Ends the session: closes the upstream socket and gives the breaker slot back. Idempotent. */
  void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (connecting != null) {
      connecting.forEach(ByteBuf::release);
      connecting.clear();
    }
    clusterStats.cxActive.decrement();
    breaker.releaseConnection();
    if (upstream != null) {
      upstream.close();
    }
    listener.forget(this);
    listener.logSessionEnd(this, startEpochMillis, System.nanoTime() - startNanos, bytesReceived, bytesSent);
  }
}
