package io.keelson.dataplane.tcp;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.TcpProxyConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.resilience.ConnectionWait;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.stats.TcpStats;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.concurrent.ThreadLocalRandom;

/**
 * One downstream connection of a tcp_proxy: picks a cluster by weight and an endpoint with the
 * cluster's balancer, connects (TLS to the upstream when the cluster has a transport socket) once the
 * cluster's {@code max_connections} breaker gives a slot (held until the upstream connection closes), then
 * hands both channels to {@link TcpRelay}. Bytes that arrive while connecting are held (reading is
 * off, so only what was already read: e.g. a peeked ClientHello). In front of all that, after any TLS handshake, the
 * chain's network RBAC filters and its network ext_authz filter ({@link TcpRbac}): the ext_authz Check is awaited with
 * nothing connected or forwarded (bytes the client sends meanwhile are held, up to {@link #WAIT_BUFFER_BYTES}, so a
 * client that leaves is noticed and its check cancelled). Writes the connection's access log entry
 * (see {@link TcpAccessLog}) when it ends. Event-loop confined.
 */
final class TcpProxyHandler extends ChannelInboundHandlerAdapter {
  private final TcpProxyContext context;
  private final TcpProxyConfig config;
  private final TcpStats stats;
  private final TcpRbac rbac;
  /** The chain's local_ratelimit and connection_limit filters, or null: they decide before anything else. */
  private final io.keelson.dataplane.filter.ConnectionGates gates;
  private final String sni;
  /** The tcp_proxy's shared metric overrides (resolved once per listener config, not per connection), or null. */
  private final io.keelson.dataplane.stats.IstioMetricsConfig istioMetrics;
  private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
  /** How long a TLS-or-plaintext connection with RBAC may take to send the bytes that tell which (Envoy: 15 s). */
  static final long DETECTION_TIMEOUT_SECONDS = 15;
  /** What a connection waiting for a connection slot may send before its reading stops until it is connected. */
  static final long WAIT_BUFFER_BYTES = 64 * 1024;
  /** A TLS-or-plaintext connection with RBAC whose first bytes have not decided yet. */
  private boolean detecting;
  private boolean started;
  private Channel upstream;
  private boolean done;
  private boolean inputShutdown;
  private ChannelHandlerContext self;
  private final io.keelson.dataplane.accesslog.AccessLogger logger;
  /** This connection's access log entry, written when it ends; null without access logs. */
  private TcpAccessLog log;
  /** Bytes read from the client before the relay started (written upstream first). */
  private long early;
  /** Waits for a {@code max_connections} slot of the cluster when none was free. */
  private final ConnectionWait<String> connectionWait = new ConnectionWait<>(this::onConnectionSlotFree);
  /** The outstanding network ext_authz check, cancelled when the client leaves first. */
  private io.keelson.dataplane.http2.UpstreamCalls.Call externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
  /** Waiting for the network ext_authz answer. */
  private boolean checking;
  /** The breaker whose pending slot this connection holds while it waits, else null. */
  private CircuitBreakers.Resources pendingBreaker;

  TcpProxyHandler(TcpProxyContext context, TcpProxyConfig config) {
    this(context, config, null, null, null, istioMetrics(context, config), null);
  }

  /** The shared metric overrides of {@code config}'s istio.stats filter, or null; look up once per listener config. */
  static io.keelson.dataplane.stats.IstioMetricsConfig istioMetrics(TcpProxyContext context, TcpProxyConfig config) {
    return config.istioMetrics().isEmpty() ? null : context.stats().istioMetrics(config.istioMetrics());
  }

  /**
   * @param rbac the network RBAC check to pass before any upstream is picked, or null
   * @param sni  the ClientHello's server name when the TLS inspector ran, else null
   * @param logger the tcp_proxy's access logs, or null
   * @param istioMetrics {@link #istioMetrics(TcpProxyContext, TcpProxyConfig)}
   * @param gates the chain's connection gates (compiled once per listener config), or null
   */
  TcpProxyHandler(TcpProxyContext context, TcpProxyConfig config, TcpRbac rbac, String sni,
      io.keelson.dataplane.accesslog.AccessLogger logger, io.keelson.dataplane.stats.IstioMetricsConfig istioMetrics,
      io.keelson.dataplane.filter.ConnectionGates gates) {
    this.gates = gates;
    this.logger = logger;
    this.istioMetrics = istioMetrics;
    this.context = context;
    this.config = config;
    this.stats = context.stats().tcp(config.statPrefix());
    this.rbac = rbac;
    this.sni = sni;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive()) {
      start(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    start(ctx);
    ctx.fireChannelActive();
  }

  private void start(ChannelHandlerContext ctx) {
    if (started) {
      return;
    }
    started = true;
    self = ctx;
    Channel down = ctx.channel();
    down.config().setAutoRead(false);
    if (gates != null && !gates.admit(down)) {
      return; // closed (or to be closed after connection_limit's delay) before any upstream is picked
    }
    // Before anything is read: a FIN must become an input-shutdown event, not a close (epoll sees
    // RDHUP even with reading off), so a client that sends and half-closes at once still gets its answer.
    down.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
    stats.cxTotal.increment();
    if (logger != null) {
      log = new TcpAccessLog(logger, down, sni);
    }
    if (rbac == null) {
      connect(ctx);
      return;
    }
    SslHandler terminated = down.pipeline().get(SslHandler.class);
    if (terminated == null && down.pipeline().get(TlsPipeline.TLS_DETECT) != null) {
      // TLS or plaintext (PERMISSIVE): the first bytes decide, then the handshake if TLS (userEventTriggered).
      detecting = true;
      // Envoy's listener_filters_timeout default: a client that never sends its first bytes is closed.
      ctx.executor().schedule(() -> {
        if (detecting) {
          down.close();
        }
      }, DETECTION_TIMEOUT_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
      down.read();
      return;
    }
    if (terminated == null) {
      authorize(ctx);
      return;
    }
    authorizeAfterHandshake(ctx, terminated);
  }

  private void authorizeAfterHandshake(ChannelHandlerContext ctx, SslHandler terminated) {
    Channel down = ctx.channel();
    // The principal is the verified client certificate's: decide once the handshake is done. Bytes
    // decrypted meanwhile are held in pending; the SslHandler keeps reading until the handshake ends.
    terminated.handshakeFuture().addListener(h -> {
      if (h.isSuccess()) {
        authorize(ctx);
      } else {
        down.close();
      }
    });
    if (!terminated.handshakeFuture().isDone()) {
      down.read();
    }
  }

  /**
   * Network RBAC and ext_authz: a denied connection is closed before any upstream is picked or connected. RBAC filters
   * before the ext_authz filter decide first (and give it their shadow results as filter_enabled_metadata); those after
   * it decide once it answered OK.
   */
  private void authorize(ChannelHandlerContext ctx) {
    Channel down = ctx.channel();
    if (!down.isActive()) {
      return;
    }
    io.keelson.dataplane.filter.extauthz.NetworkAuthzCheck check = rbac.extAuthz();
    if (check == null) {
      if (!rbac.allows(down, sni)) {
        release();
        down.close();
        return;
      }
      connect(ctx);
      return;
    }
    int before = rbac.extAuthzAfter();
    io.keelson.dataplane.rbac.RbacDecision[] shadows =
        check.needsMetadata() ? new io.keelson.dataplane.rbac.RbacDecision[rbac.size()] : null;
    if (!rbac.allows(down, sni, 0, before, shadows)) {
      release();
      down.close();
      return;
    }
    if (!check.enabled(shadows == null ? null : rbac.metadata(before, shadows))) {
      afterExternalCheck(ctx);
      return;
    }
    checking = true;
    externalCheck = check.check(down, context.calls().get(), context.snapshot().get(), sni,
        allowed -> onExternalCheck(ctx, allowed));
    if (checking && early < WAIT_BUFFER_BYTES) {
      down.read(); // held, not forwarded: reading on notices a client that leaves (bounded by channelRead)
    }
  }

  private void onExternalCheck(ChannelHandlerContext ctx, boolean allowed) {
    checking = false;
    externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
    Channel down = ctx.channel();
    if (!down.isActive()) {
      return;
    }
    if (!allowed) {
      flag(ResponseFlag.UAEX);
      release();
      down.close();
      return;
    }
    afterExternalCheck(ctx);
  }

  private void afterExternalCheck(ChannelHandlerContext ctx) {
    if (!rbac.allows(ctx.channel(), sni, rbac.extAuthzAfter(), rbac.size(), null)) {
      release();
      ctx.channel().close();
      return;
    }
    connect(ctx);
  }

  private void connect(ChannelHandlerContext ctx) {
    String clusterName = pickCluster();
    if (log != null) {
      log.cluster(clusterName);
    }
    connect(ctx, clusterName);
  }

  /**
   * Picks an endpoint of {@code clusterName} and connects to it once the cluster's {@code max_connections} breaker
   * gives a slot. Without a slot the connection waits as a pending request ({@code max_pending_requests}; overflow
   * closes it with flag {@code UO}), as Envoy's TCP connection pool does, and tries again when a slot is freed.
   */
  private void connect(ChannelHandlerContext ctx, String clusterName) {
    Channel down = ctx.channel();
    ServingSnapshot snapshot = context.snapshot().get();
    ServingCluster cluster = snapshot.cluster(clusterName);
    LoadBalancer lb = cluster == null ? null
        : cluster.config().isOriginalDst() ? io.keelson.dataplane.intercept.OriginalDstHost.of(down) // no host: not redirected
        : TcpBalancers.servingForCluster(snapshot, cluster); // health checks and outlier detection, as the router
    int index = lb == null ? -1 : config.hashSourceIp() ? lb.pick(sourceIpHash(io.keelson.dataplane.intercept.RemoteAddress.of(down))) : lb.pick();
    if (index < 0) {
      releasePendingSlot();
      if (cluster == null) {
        stats.cxNoRoute.increment();
        flag(ResponseFlag.NC); // Envoy's tcp_proxy: NoClusterFound
      } else {
        cluster.stats().noHealthyUpstream.increment();
        flag(ResponseFlag.UH);
      }
      down.close();
      return;
    }
    CircuitBreakers.Resources breaker = cluster.resilience().breakers().of(false);
    CircuitBreakerConfig.Thresholds thresholds = cluster.config().circuitBreakers().defaultPriority();
    if (config.tunneling() != null && cluster.config().http2Upstream()) {
      releasePendingSlot();
      openTunnel(ctx, cluster, lb, index, breaker, thresholds);
      return;
    }
    if (!breaker.tryAcquireConnection(thresholds)) {
      cluster.stats().cxOverflow.increment();
      if (pendingBreaker == null) {
        if (!breaker.tryAcquirePending(thresholds)) {
          cluster.stats().rqPendingOverflow.increment();
          flag(ResponseFlag.UO);
          down.close();
          return;
        }
        pendingBreaker = breaker;
      }
      connectionWait.await(down.eventLoop(), breaker, thresholds, clusterName);
      if (early < WAIT_BUFFER_BYTES) {
        down.read(); // reads while waiting (bounded), so a client that resets is noticed and gives its slot back
      }
      return;
    }
    releasePendingSlot();
    EndpointConfig endpoint = lb.endpoint(index);
    if (log != null) {
      log.upstream(endpoint);
    }
    lb.onRequestStart(index);
    cluster.stats().cxTotal.increment();
    var tls = cluster.config().tls(endpoint);
    InetSocketAddress address = endpoint.socketAddress();
    long timeoutMs = Math.max(1, cluster.config().connectTimeout().toMillis());
    ChannelFuture f = context.transport().upstream(new Bootstrap()
        .group(down.eventLoop())
        .channel(context.transport().clientChannel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.AUTO_READ, false)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeoutMs))
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            if (tls != null) {
              TlsPipeline.addClient(ch, tls, context.stats().tls("cluster." + cluster.name()), address.getHostString(), address.getPort());
            }
            io.keelson.dataplane.intercept.UpstreamProxyHeader.addFirst(ch, cluster.config().proxyProtocolVersion(), down);
          }
        }), cluster.config(), address) // upstream_bind_config, tcp_keepalive
        .connect(address);
    upstream = f.channel();
    upstream.closeFuture().addListener(c -> breaker.releaseConnection()); // the slot is held until the upstream closes
    f.addListener(r -> {
      if (!r.isSuccess()) {
        onConnectFailed(cluster, lb, index, r.cause());
        return;
      }
      SslHandler ssl = tls == null ? null : upstream.pipeline().get(SslHandler.class);
      if (ssl == null) {
        onTransportReady(ctx, cluster, lb, index);
      } else {
        upstream.read(); // auto-read is off: the handshake needs reads
        io.keelson.dataplane.tls.TlsPipeline.clientHandshake(upstream, ssl, tls,
            context.stats().tls("cluster." + cluster.name())).addListener(h -> {
          if (h.isSuccess()) {
            String exchange = cluster.config().peerExchangeProtocol();
            if (exchange != null && config.tunneling() == null) {
              // before the relay: the frame goes first, the peer's is taken off before any byte is relayed
              upstream.pipeline().addLast(TcpPeerExchange.NAME, TcpPeerExchange.of(context.stats(), exchange));
            }
            onTransportReady(ctx, cluster, lb, index);
          } else {
            onConnectFailed(cluster, lb, index, h.cause());
          }
        });
      }
    });
  }

  /** The upstream connection (and its TLS) is up: relay, or first ask an HTTP/1.1 cluster for the tunnel. */
  private void onTransportReady(ChannelHandlerContext ctx, ServingCluster cluster, LoadBalancer lb, int index) {
    if (config.tunneling() == null) {
      onConnected(ctx, cluster, lb, index);
      return;
    }
    Channel down = ctx.channel();
    io.netty.util.concurrent.Promise<Void> established = down.eventLoop().newPromise();
    upstream.pipeline().addLast(new Http1TunnelAnswer(established));
    java.util.concurrent.ScheduledFuture<?> answerTimeout = down.eventLoop().schedule(
        () -> established.tryFailure(new io.netty.channel.ConnectTimeoutException("no answer to the tunnel's request within "
            + cluster.config().connectTimeout())), Math.max(1, cluster.config().connectTimeout().toMillis()),
        java.util.concurrent.TimeUnit.MILLISECONDS);
    established.addListener(r -> {
      answerTimeout.cancel(false);
      upstream.config().setAutoRead(false); // the relay turns reading on once it is joined
      if (r.isSuccess()) {
        onConnected(ctx, cluster, lb, index);
      } else {
        onConnectFailed(cluster, lb, index, r.cause());
      }
    });
    var who = new io.keelson.dataplane.config.TcpTunnelingConfig.Downstream(
        io.keelson.dataplane.intercept.OriginalDestination.localAddress(down),
        io.keelson.dataplane.intercept.RemoteAddress.of(down), sni); // the client a PROXY header named, as over HTTP/2
    try {
      Http1TunnelAnswer.writeRequest(upstream, config.tunneling(), who);
    } catch (RuntimeException e) { // a CR or LF in a value a command operator filled (the SNI): fail now, not at connect_timeout
      established.tryFailure(e);
      return;
    }
    upstream.flush();
    upstream.config().setAutoRead(true); // only the answer comes before the relay (the client's bytes wait for it)
  }

  /**
   * tunneling_config over an HTTP/2 cluster: the connection rides an HTTP/2 stream of the cluster's pooled connections to the picked endpoint
   * (a stream takes a {@code max_requests} slot for its life; a new HTTP/2 connection a {@code max_connections} one,
   * none free closing the client with {@code UO}, as no slot to wait for); once the tunnel answers 200 the relay
   * starts, as for a TCP upstream. Any other answer, a reset or no answer within the cluster's connect_timeout closes
   * the client with {@code UF}, as Envoy's tcp_proxy does.
   */
  private void openTunnel(ChannelHandlerContext ctx, ServingCluster cluster, LoadBalancer lb, int index,
      CircuitBreakers.Resources breaker, CircuitBreakerConfig.Thresholds thresholds) {
    Channel down = ctx.channel();
    if (!breaker.tryAcquireRequest(thresholds)) {
      cluster.stats().rqPendingOverflow.increment();
      flag(ResponseFlag.UO);
      down.close();
      return;
    }
    EndpointConfig endpoint = lb.endpoint(index);
    if (log != null) {
      log.upstream(endpoint);
    }
    io.netty.util.concurrent.Promise<Void> established = down.eventLoop().newPromise();
    TunnelFrames frames = new TunnelFrames(established);
    io.netty.util.concurrent.Future<Channel> opened = io.keelson.dataplane.http2.TunnelStreams.open(context.calls().get(),
        down.eventLoop(), endpoint, cluster, frames, breaker, thresholds);
    if (opened == null) {
      breaker.releaseRequest();
      cluster.stats().cxOverflow.increment();
      flag(ResponseFlag.UO);
      down.close();
      return;
    }
    lb.onRequestStart(index);
    java.util.concurrent.ScheduledFuture<?> answerTimeout = down.eventLoop().schedule(
        () -> established.tryFailure(new io.netty.channel.ConnectTimeoutException("no answer to the tunnel's request within "
            + cluster.config().connectTimeout())), Math.max(1, cluster.config().connectTimeout().toMillis()),
        java.util.concurrent.TimeUnit.MILLISECONDS);
    opened.addListener(f -> {
      if (!f.isSuccess()) {
        established.tryFailure(f.cause());
        return;
      }
      Channel stream = (Channel) f.getNow();
      if (established.isDone()) {
        stream.close(); // the answer timed out before the stream opened (its request slot was given back then)
        return;
      }
      upstream = stream;
      stream.closeFuture().addListener(c -> breaker.releaseRequest()); // the stream's max_requests slot
      InetSocketAddress local = io.keelson.dataplane.intercept.OriginalDestination.localAddress(down);
      var who = new io.keelson.dataplane.config.TcpTunnelingConfig.Downstream(local,
          io.keelson.dataplane.intercept.RemoteAddress.of(down), sni);
      stream.config().setAutoRead(true); // only the answer comes before the relay (the client's bytes wait for it)
      try {
        stream.writeAndFlush(TunnelFrames.request(config.tunneling(), who, cluster.config().tls(endpoint) != null));
      } catch (RuntimeException e) { // a header the codec refuses (a value a command operator filled): fail now, not at connect_timeout
        stream.close();
        established.tryFailure(e);
      }
    });
    established.addListener(r -> {
      answerTimeout.cancel(false);
      if (!opened.isSuccess()) {
        breaker.releaseRequest(); // no stream was opened: its slot was never tied to a close
      }
      if (r.isSuccess()) {
        upstream.config().setAutoRead(false); // the relay turns reading on once it is joined
        onConnected(ctx, cluster, lb, index);
      } else {
        onConnectFailed(cluster, lb, index, r.cause());
      }
    });
  }

  /**
   * Envoy's tcp_proxy hash_policy source_ip: the HTTP hash_policy's hash of the downstream's IP as text
   * ({@code RequestHash.ofSourceIp}), so one client hashes alike on both; 1 when the peer has no IP, as 0 means none.
   */
  static long sourceIpHash(java.net.SocketAddress remote) {
    return remote instanceof java.net.InetSocketAddress a && a.getAddress() != null
        ? io.keelson.dataplane.routing.RequestHash.ofSourceIp(a.getAddress().getHostAddress()) : 1;
  }

  private String pickCluster() {
    if (config.clusters().size() == 1) {
      return config.clusters().getFirst().name();
    }
    int x = ThreadLocalRandom.current().nextInt(config.totalWeight());
    for (RouteAction.WeightedCluster c : config.clusters()) {
      x -= c.weight();
      if (x < 0) {
        return c.name();
      }
    }
    return config.clusters().getLast().name();
  }

  private void onConnectFailed(ServingCluster cluster, LoadBalancer lb, int index, Throwable cause) {
    lb.onRequestEnd(index);
    if (cause instanceof io.netty.channel.ConnectTimeoutException) {
      cluster.stats().cxConnectTimeout.increment();
    }
    cluster.stats().cxConnectFail.increment();
    flag(ResponseFlag.UF);
    if (upstream != null) {
      upstream.close();
    }
    release();
    self.close();
  }

  private void onConnected(ChannelHandlerContext ctx, ServingCluster cluster, LoadBalancer lb, int index) {
    Channel down = ctx.channel();
    if (!down.isActive()) {
      lb.onRequestEnd(index);
      upstream.close();
      release();
      return;
    }
    cluster.stats().cxActive.increment();
    // Inbound, the caller's certificate names the source (Istio's source_principal over mTLS), once TLS is settled.
    java.util.concurrent.atomic.LongAdder[] toUpCounters = {stats.rxBytes, null};
    java.util.concurrent.atomic.LongAdder[] toDownCounters = {stats.txBytes, null};
    IstioTcpPeerBinding istio = IstioTcpPeerBinding.bind(context.stats(), cluster.name(), istioMetrics, down,
        toUpCounters, toDownCounters, 1);
    istio.destination().opened.increment();
    // Istio's TCP metadata exchange: inbound the caller's workload, outbound the destination's (when each completes)
    Channel exchanged = cluster.name().startsWith("inbound|") ? down : upstream;
    if (TcpPeerExchange.present(exchanged)) {
      TcpPeerExchange.whenExchanged(exchanged, istio::peer);
    }
    ByteBuf b;
    while ((b = pending.pollFirst()) != null) {
      upstream.write(b, upstream.voidPromise());
    }
    if (log != null) {
      log.upstreamLocal(upstream.localAddress());
      if (config.accessLogOnConnected()) {
        log.connected(early);
      }
    }
    if (inputShutdown) {
      TcpRelay.passFin(upstream); // the client's FIN came with the held bytes: after them
    } else {
      upstream.flush();
    }
    stats.rxBytes.add(early);
    istio.destination().toUpstreamBytes.add(early);
    if (config.idleTimeout().toNanos() > 0) {
      down.pipeline().addLast("idle", new io.netty.handler.timeout.IdleStateHandler(
          0, 0, config.idleTimeout().toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS));
    }
    ctx.pipeline().remove(this);
    done = true;
    TcpAccessLog entry = log;
    long before = early;
    java.util.concurrent.ScheduledFuture<?>[] periodic = {null};
    TcpRelay relay = TcpRelay.join(down, upstream, (toUp, toDown, idle) -> {
      if (entry != null) {
        if (periodic[0] != null) {
          periodic[0].cancel(false);
        }
        entry.write(before + toUp, toDown);
      }
      lb.onRequestEnd(index);
      cluster.stats().cxActive.decrement();
      istio.destination().closed.increment();
      if (idle) {
        stats.idleTimeout.increment();
      }
    }, new TcpRelay.Counters(toUpCounters, toDownCounters, stats.pausedReading, stats.resumedReading));
    java.time.Duration every = config.accessLogFlushInterval();
    if (entry != null && every != null && every.toNanos() > 0 && !relay.isClosed()) {
      // Envoy's access_log_flush_interval: an entry with the totals so far, on this event loop (the relay's).
      periodic[0] = down.eventLoop().scheduleAtFixedRate(() -> {
        if (!relay.isClosed()) {
          entry.periodic(before + relay.downstreamBytes(), relay.upstreamBytes());
        }
      }, every.toNanos(), every.toNanos(), java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof ByteBuf buf) {
      early += buf.readableBytes();
      pending.addLast(buf);
      if ((connectionWait.waiting() || checking) && early < WAIT_BUFFER_BYTES) {
        ctx.read();
      }
    } else {
      io.netty.util.ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt == TlsPipeline.DETECTED) {
      if (detecting) {
        detecting = false;
        SslHandler tls = ctx.pipeline().get(SslHandler.class);
        if (tls != null) {
          authorizeAfterHandshake(ctx, tls);
        } else {
          authorize(ctx);
        }
      }
      ctx.fireUserEventTriggered(evt); // the Istio TCP binding stops waiting for a handshake on plaintext
      return;
    }
    if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
      inputShutdown = true; // passed on to the upstream once connected
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** Woken by the breaker on this event loop: a connection slot may be free. */
  private void onConnectionSlotFree(String clusterName) {
    if (self.channel().isActive()) {
      connect(self, clusterName);
    } else {
      releasePendingSlot();
    }
  }

  private void releasePendingSlot() {
    if (pendingBreaker != null) {
      pendingBreaker.releasePending();
      pendingBreaker = null;
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!done && upstream != null) {
      flag(ResponseFlag.DC); // unless the connect failed first (UF)
      upstream.close(); // the client left while connecting
    }
    if (connectionWait.waiting()) {
      connectionWait.cancel();
      flag(ResponseFlag.DC); // the client left while waiting for a connection slot
    }
    if (checking) {
      checking = false;
      externalCheck.cancel(); // as Envoy: the check is cancelled when the connection closes first
      externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
      flag(ResponseFlag.DC);
    }
    releasePendingSlot();
    release();
    if (!done && log != null) {
      log.write(early, 0); // ended before the relay started: refused, denied, failed or abandoned
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  private void flag(ResponseFlag f) {
    if (log != null) {
      log.flag(f);
    }
  }

  private void release() {
    ByteBuf b;
    while ((b = pending.pollFirst()) != null) {
      b.release();
    }
  }
}
