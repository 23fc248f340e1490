package io.keelson.dataplane.udp;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.UdpListenerConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.RequestHash;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.tcp.TcpBalancers;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A udp_proxy listener's socket handler: each datagram joins its client's session (one per source address, created
 * with the first datagram: a host picked by the cluster's balancer, hashed on the source IP with {@code hash_policies},
 * within the cluster's {@code max_connections} breaker, as Envoy counts sessions) and is relayed upstream; replies are
 * written back from this socket. A datagram no session can take (no cluster, no healthy host, the breaker full) is
 * dropped and counted. Confined to the event loop of the listener's socket, where its sessions' sockets live too.
 */
final class UdpProxyListener extends SimpleChannelInboundHandler<DatagramPacket> {
  private final UdpListenerConfig config;
  private final Supplier<ServingSnapshot> snapshots;
  private final Transport transport;
  private final UdpProxyStats stats;
  private final UdpProxyStats.Cluster clusterStats;
  private final long idleTimeoutNanos;
  private final io.keelson.dataplane.accesslog.AccessLogger accessLog; // null: no access_log
  /** Each client's sessions: one, or with per-packet balancing one per host, chained through {@link UdpSession#next}. */
  private final Map<InetSocketAddress, UdpSession> sessions = new HashMap<>();
  private Channel socket;

  UdpProxyListener(UdpListenerConfig config, Supplier<ServingSnapshot> snapshots, Transport transport,
      StatsRegistry registry, io.keelson.dataplane.accesslog.AccessLogger accessLog) {
    this.config = config;
    this.snapshots = snapshots;
    this.transport = transport;
    this.stats = new UdpProxyStats(registry, config.statPrefix());
    this.clusterStats = UdpProxyStats.Cluster.of(registry, config.cluster());
    this.idleTimeoutNanos = config.idleTimeout().toNanos();
    this.accessLog = accessLog;
  }

  /** Connects {@code session}'s own socket to {@code host} on this listener's event loop. */
  io.netty.channel.ChannelFuture connectUpstream(UdpSession session, InetSocketAddress host) {
    return new Bootstrap().group(socket.eventLoop()).channel(transport.datagramChannel())
        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(config.maxRxDatagramSize()))
        .handler(session)
        .connect(host);
  }

  /** Writes an ended session's access log entry (Envoy's UdpSessionEnd), when the udp_proxy has an access_log. */
  void logSessionEnd(UdpSession s, long startEpochMillis, long durationNanos, long bytesReceived, long bytesSent) {
    if (accessLog == null) {
      return;
    }
    io.keelson.dataplane.accesslog.AccessLogRecord r = accessLog.claim(); // null: the ring is full, dropped and counted
    if (r == null) {
      return;
    }
    r.startEpochMillis = startEpochMillis;
    r.durationNanos = durationNanos;
    r.protocol = null;
    r.status = 0;
    r.flag = io.keelson.dataplane.stats.ResponseFlag.NONE;
    r.logType = io.keelson.dataplane.accesslog.AccessLogRecord.UDP_SESSION_END;
    r.healthCheck = false;
    r.bytesReceived = bytesReceived;
    r.bytesSent = bytesSent;
    r.downstreamRemoteAddress = io.keelson.dataplane.tcp.TcpAccessLog.address(s.client);
    r.downstreamLocalAddress = (InetSocketAddress) socket.localAddress();
    r.upstreamCluster = config.cluster();
    r.upstreamHost = s.host;
    accessLog.publish(r);
  }

  UdpProxyStats stats() {
    return stats;
  }

  long idleTimeoutNanos() {
    return idleTimeoutNanos;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    socket = ctx.channel();
    ctx.fireChannelActive();
  }

  @Override
  protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
    ByteBuf content = packet.content();
    stats.rxDatagrams.increment();
    stats.rxBytes.add(content.readableBytes());
    InetSocketAddress client = packet.sender();
    UdpSession session = sessions.get(client);
    if (session == null || config.perPacketBalancing()) {
      UdpSession picked = sessionFor(ctx.channel(), client, session);
      if (picked == null) {
        stats.rxDatagramsDropped.increment();
        return;
      }
      session = picked;
    }
    session.fromClient(content.retain());
  }

  /**
   * The session of {@code client} to the host the balancer picks now (a new one unless {@code first}'s chain has
   * one to that host), or null when none can be had. With {@code use_per_packet_load_balancing} each datagram picks
   * again, and a client has a session per host it was sent to, as Envoy's.
   */
  private UdpSession sessionFor(Channel socket, InetSocketAddress client, UdpSession first) {
    ServingSnapshot snapshot = snapshots.get();
    ServingCluster cluster = snapshot.cluster(config.cluster());
    if (cluster == null) {
      stats.noRoute.increment();
      return null;
    }
    LoadBalancer lb = TcpBalancers.servingForCluster(snapshot, cluster);
    int index = config.hashSourceIp() ? lb.pick(RequestHash.ofSourceIp(client.getAddress().getHostAddress())) : lb.pick();
    if (index < 0) {
      clusterStats.noneHealthy().increment();
      return null;
    }
    EndpointConfig host = lb.endpoint(index);
    for (UdpSession s = first; s != null; s = s.next) {
      if (s.host.equals(host)) {
        return s;
      }
    }
    CircuitBreakers.Resources breaker = cluster.resilience().breakers().of(false);
    CircuitBreakerConfig.Thresholds thresholds = cluster.config().circuitBreakers().defaultPriority();
    if (!breaker.tryAcquireConnection(thresholds)) {
      cluster.stats().cxOverflow.increment();
      return null;
    }
    UdpSession session = new UdpSession(this, client, host, breaker, cluster.stats(), clusterStats);
    session.next = first;
    sessions.put(client, session);
    stats.sessTotal.increment();
    stats.sessActive.incrementAndGet();
    session.open(socket.eventLoop());
    return session;
  }

  /** Sends a host's reply to {@code client} from the listener's socket (takes {@code content}). */
  void toClient(ByteBuf content, InetSocketAddress client) {
    if (!socket.isWritable()) { // the kernel's send buffer and Netty's (64 KiB) are full: dropped, never queued on
      content.release();
      stats.txErrors.increment();
      return;
    }
    stats.txDatagrams.increment();
    stats.txBytes.add(content.readableBytes());
    socket.writeAndFlush(new DatagramPacket(content, client), socket.voidPromise());
  }

  /** A session that ended leaves the table. */
  void forget(UdpSession session) {
    UdpSession first = sessions.get(session.client);
    if (first == session) {
      if (session.next == null) {
        sessions.remove(session.client);
      } else {
        sessions.put(session.client, session.next);
      }
      stats.sessActive.decrementAndGet();
      return;
    }
    for (UdpSession s = first; s != null; s = s.next) {
      if (s.next == session) {
        s.next = session.next;
        stats.sessActive.decrementAndGet();
        return;
      }
    }
  }

  private List<UdpSession> allSessions() {
    List<UdpSession> all = new ArrayList<>();
    for (UdpSession first : sessions.values()) {
      for (UdpSession s = first; s != null; s = s.next) {
        all.add(s);
      }
    }
    return all;
  }

  /** Ends the sessions whose host is no longer an endpoint of the cluster in {@code snapshot} (on the event loop). */
  void endSessionsOfRemovedHosts(ServingSnapshot snapshot) {
    ServingCluster cluster = snapshot.cluster(config.cluster());
    List<UdpSession> gone = new ArrayList<>();
    for (UdpSession s : allSessions()) {
      if (cluster == null || !hasHost(cluster, s.host)) {
        gone.add(s);
      }
    }
    gone.forEach(UdpSession::close);
  }

  private static boolean hasHost(ServingCluster cluster, EndpointConfig host) {
    for (EndpointConfig e : cluster.config().endpoints()) {
      if (e.host().equals(host.host()) && e.port() == host.port()) {
        return true;
      }
    }
    return false;
  }

  /** Ends every session (the listener was removed, updated or the proxy stops; on the event loop). */
  void endAll() {
    allSessions().forEach(UdpSession::close);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    endAll();
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    stats.txErrors.increment(); // a send error on the listener's socket; it keeps serving
  }
}
