package io.keelson.dataplane.server;

import io.keelson.dataplane.admin.AdminServer;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.http1.Http1ProxyInitializer;
import io.keelson.dataplane.http1.ProxyContext;
import io.keelson.dataplane.intercept.FilterChainSelector;
import io.keelson.dataplane.intercept.OriginalDestination;
import io.keelson.dataplane.routing.RoutingPipelines;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.health.HealthCheckService;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.tcp.TcpListeners;
import io.keelson.dataplane.tcp.TcpProxyContext;
import io.keelson.dataplane.tcp.TcpProxyInitializer;
import io.keelson.dataplane.tls.offload.TlsOffload;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One proxy process's socket path: binds every HTTP and tcp_proxy listener of the snapshot (tcp_proxy
 * VIPs balanced by MAGLEV/RING_HASH are left to the DPDK gateway) on N event loops, runs
 * the admin listener, swaps snapshots (binding, moving and closing listeners as they change, see
 * {@link ListenerSet}), and drains on shutdown (stop accepting, finish in-flight
 * exchanges, close idle keep-alive connections, let tcp_proxy connections relay until they end, close what
 * is left at the drain time, exit). {@link #install} never waits for health checks: a cluster new to the
 * proxy warms (its first checks) while the rest of the snapshot serves, and joins the current snapshot
 * when warm. Thread-safe; {@link #close} is idempotent.
 */
public final class ProxyServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);
  /** A shutdown step waits this long at most: a stuck connection must not keep the process alive. */
  private static final long CLOSE_WAIT_SECONDS = 5;
  private final ProxyOptions options;
  private final StatsRegistry stats = new StatsRegistry();
  private final RoutingPipelines pipelines;
  private final HealthCheckService health;
  /** STRICT_DNS / LOGICAL_DNS clusters resolved in the background; their answers reach the snapshot as EDS updates. */
  private final io.keelson.dataplane.discovery.DnsClusters dns;
  private final ProxyContext context;
  private final TcpProxyContext tcpContext;
  private final EventLoopGroup workers;
  /** Every listener's downstream connections, HTTP and tcp_proxy: what a drain tells, waits for and closes. */
  private final ChannelGroup connections = new DefaultChannelGroup("downstream", GlobalEventExecutor.INSTANCE);
  private final ListenerSet listeners;
  /** The udp_proxy listeners (sockets and sessions of their own, apart from the TCP listeners' connections). */
  private final io.keelson.dataplane.udp.UdpListeners udpListeners;
  /** The HTTP/3 listeners (a UDP socket each, their QUIC connections apart from {@link #connections}). */
  private final QuicListeners quicListeners;
  private AdminServer admin;
  private volatile boolean started; // written under this
  private volatile boolean closed;
  private boolean constructed; // guarded by this: DNS answers wait for the fields they update
  private volatile boolean listening; // at least one listener bound; written under this
  private boolean drainDeadlineSet; // /drain_listeners scheduled its close at the drain time; guarded by this
  /** The xDS client feeding this proxy, or null (a static bootstrap): initialization waits for its first config. */
  private volatile io.keelson.dataplane.xds.XdsClient xds;

  public ProxyServer(ProxySnapshot snapshot, ProxyOptions options) {
    this.options = options;
    this.pipelines = new RoutingPipelines(options.pipeline(), options.ringSize());
    this.health = new HealthCheckService(options.transport(), stats);
    this.dns = new io.keelson.dataplane.discovery.DnsClusters(stats, this::refreshDnsClusters);
    ServingSnapshot first = ServingSnapshot.compile(dns.reconcile(snapshot), stats, health, null, dns::warming);
    if (!first.warmingClusters().isEmpty()) {
      health.awaitWarm(); // start-up, as Envoy's initialization: the first requests see checked endpoints
      first = first.activateWarmed(health, dns::warming);
    }
    this.context = new ProxyContext(first, pipelines, options.transport(), stats);
    // Later snapshots never wait (install runs on the xDS thread): a cluster that finishes warming joins
    // whatever snapshot is current then, so an older config is never put back.
    health.onClusterWarm(() -> context.updateSnapshot(s -> s.activateWarmed(health, dns::warming)));
    this.workers = options.transport().newGroup(options.concurrency(), "keelson-worker");
    this.tcpContext = new TcpProxyContext(context::snapshot, options.transport(), stats, context::tlsOffload,
        context::accessLogService, io.keelson.dataplane.http2.Http2ServerSupport.calls(context));
    this.listeners = new ListenerSet(this::bootstrap, this::initializer, options.drainTime());
    this.udpListeners = new io.keelson.dataplane.udp.UdpListeners(workers, options.transport(), stats,
        context::snapshot, tcpContext::accessLogger);
    this.quicListeners = new QuicListeners(workers, options.transport(), context, options.drainTime());
    stats.server().lifecycle(() -> state().code());
    synchronized (this) {
      constructed = true;
    }
    refreshDnsClusters(); // a lookup that finished while this was being built
  }

  private ServerBootstrap bootstrap() {
    return new ServerBootstrap()
        .group(workers)
        .channel(options.transport().serverChannel())
        .option(ChannelOption.SO_BACKLOG, 4096)
        .option(ChannelOption.SO_REUSEADDR, true)
        .childOption(ChannelOption.TCP_NODELAY, true);
  }

  /**
   * The per-connection handler of a listener this process serves (behind its proxy_protocol listener filter when it
   * has one); null for the others.
   */
  private ChannelHandler initializer(ListenerConfig l) {
    ChannelHandler h = chainInitializer(l);
    if (h == null || l.proxyProtocol() == null) {
      return h;
    }
    return new io.keelson.dataplane.intercept.ProxyProtocolFilter(l.name(), l.proxyProtocol(), h, stats, connections);
  }

  /** What a listener (or one of its filter chains) runs per connection; null when this process does not serve it. */
  private ChannelHandler chainInitializer(ListenerConfig l) {
    if (l.destinationChains() != null) {
      Map<ListenerConfig, ChannelHandler> chains = new java.util.IdentityHashMap<>();
      for (ListenerConfig chain : l.destinationChains().all()) {
        ChannelHandler h = chainInitializer(chain);
        if (h != null) {
          chains.put(chain, h);
        } else {
          LOG.warn("listener '{}': filter chain '{}' is not served on the socket path; its connections are closed",
              l.name(), chain.name());
        }
      }
      return new FilterChainSelector(l.destinationChains(), chains,
          stats.counter("listener." + l.name() + ".no_filter_chain_match"),
          tcpContext.accessLogger(l.destinationChains().accessLogs()));
    }
    if (l.protocolChains() != null) {
      Map<ListenerConfig, ChannelHandler> chains = new java.util.IdentityHashMap<>();
      for (ListenerConfig chain : l.protocolChains().all()) {
        ChannelHandler h = chainInitializer(chain);
        if (h != null) {
          chains.put(chain, h);
        }
      }
      return new io.keelson.dataplane.intercept.ProtocolChainSelector(l.name(), l.protocolChains(), chains, stats,
          connections);
    }
    if (l.serverNameChains() != null) {
      Map<ListenerConfig, ChannelHandler> chains = new java.util.IdentityHashMap<>();
      for (ListenerConfig chain : l.serverNameChains().all()) {
        ChannelHandler h = chainInitializer(chain);
        if (h != null) {
          chains.put(chain, h);
        }
      }
      return new io.keelson.dataplane.intercept.ServerNameChainSelector(l.name(), l.serverNameChains(), chains, stats,
          connections);
    }
    if (l.http() != null) {
      return new Http1ProxyInitializer(context, l, connections);
    }
    if (TcpListeners.runsOnSocketPath(l, context.snapshot().config())) {
      return new TcpProxyInitializer(tcpContext, l, connections);
    }
    return null; // a VIP whose clusters balance with MAGLEV/RING_HASH belongs to the DPDK gateway
  }

  /**
   * Probes kernel TLS (unless {@code --tls-offload off}; {@code require} without it throws with the kernel's
   * answer), binds the listeners and the admin endpoint; throws with the address when a bind fails.
   */
  public synchronized ProxyServer start() throws InterruptedException {
    try {
      context.tlsOffload(TlsOffload.start(options.tlsOffload(), stats));
    } catch (IllegalStateException e) {
      close();
      throw e;
    }
    try {
      checkTransport(context.snapshot().config());
      listeners.admit(listeners.reconcile(context.snapshot().config().tcpListeners())); // its snapshot is in effect
      udpListeners.reconcile(context.snapshot().config().udpListeners());
      quicListeners.reconcile(context.snapshot().config(), context.snapshot()).commit();
      listening = anyBound();
    } catch (ConfigException e) {
      close();
      throw new IllegalStateException(e.getMessage(), e);
    }
    if (options.adminHost() != null) {
      admin = new AdminServer(this);
      try {
        admin.start(options.adminHost(), options.adminPort());
      } catch (Exception e) {
        close();
        throw new IllegalStateException(
            "admin listener cannot bind " + options.adminHost() + ":" + options.adminPort() + ": " + describe(e), e);
      }
    }
    started = true;
    return this;
  }

  /**
   * Refuses listeners this transport cannot run: the original_dst listener filter needs a native transport (the
   * socket's file descriptor for SO_ORIGINAL_DST).
   */
  private void checkTransport(ProxySnapshot snapshot) throws ConfigException {
    String reason = OriginalDestination.unsupportedReason(options.transport());
    if (reason == null) {
      return;
    }
    for (ListenerConfig l : snapshot.listeners()) {
      if (l.originalDst()) {
        throw new ConfigException("listener '" + l.name() + "' has the envoy.filters.listener.original_dst listener"
            + " filter, which transport " + options.transport().label() + " cannot run: " + reason);
      }
    }
  }

  private boolean anyBound() {
    return !listeners.isEmpty() || !udpListeners.addresses().isEmpty() || !quicListeners.addresses().isEmpty();
  }

  private static String describe(Exception e) {
    return ListenerSet.describe(e);
  }

  /** The bound address of a listener (the real port when the config asked for port 0). */
  public synchronized InetSocketAddress listenerAddress(String name) {
    Map<String, InetSocketAddress> bound = new java.util.LinkedHashMap<>(listeners.addresses());
    bound.putAll(udpListeners.addresses());
    bound.putAll(quicListeners.addresses());
    InetSocketAddress a = bound.get(name);
    if (a == null) {
      throw new IllegalArgumentException("no listener named '" + name + "'; have " + bound.keySet());
    }
    return a;
  }

  /** Bound listener addresses by name, in config order (empty after a drain). */
  public synchronized Map<String, InetSocketAddress> boundListeners() {
    return listeners.addresses();
  }

  /** Envoy's admin /listeners lines ({@code name::host:port}), unbound ({@code bind_to_port: false}) listeners included. */
  public synchronized List<String> listenerListing() {
    List<String> out = new java.util.ArrayList<>(listeners.listing());
    out.addAll(udpListeners.listing());
    out.addAll(quicListeners.listing());
    return out;
  }

  /**
   * Envoy's /drain_listeners: stop accepting, close idle keep-alive connections and let in-flight
   * exchanges finish with {@code connection: close}; tcp_proxy connections, which have no in-band drain,
   * keep relaying. Whatever is still open when the drain time ({@link ProxyOptions#drainTime}) has passed
   * since the first call is closed, as shutdown and a removed listener's drain close it. Does not wait;
   * the process keeps running.
   */
  public synchronized void drainListeners() {
    if (closed) {
      return;
    }
    context.startDraining();
    listeners.closeAll(false);
    udpListeners.closeAll(); // a UDP listener has no in-band drain: its sessions end
    quicListeners.closeAll(true, context.snapshot()); // GOAWAY, streams finish, then the sockets close
    listening = false;
    for (Channel c : connections) {
      c.eventLoop().execute(() -> Http1ProxyInitializer.drain(c));
    }
    if (!drainDeadlineSet) { // a second call keeps the first one's deadline
      drainDeadlineSet = true;
      long millis = options.drainTime().toMillis();
      workers.next().schedule(this::closeDrained, millis, TimeUnit.MILLISECONDS); // dropped if close() comes first
    }
  }

  /**
   * /drain_listeners' end: closes every connection still open at the drain time (also one set up after the
   * drain began, accepted just before its listener closed), past its handlers (see {@link ListenerSet#closeNow}).
   */
  private void closeDrained() {
    int open = 0;
    for (Channel c : connections) {
      if (c.isOpen()) {
        ListenerSet.closeNow(c);
        open++;
      }
    }
    if (open > 0) {
      LOG.info("drain_listeners: closed {} connections still open after the drain time ({} ms)", open,
          options.drainTime().toMillis());
    }
  }

  public InetSocketAddress adminAddress() {
    return admin == null ? null : admin.address();
  }

  /**
   * Swaps in a new snapshot for new requests, binding the listeners it adds or moves, closing (and draining)
   * those it removes, and draining the connections of those it changes in place (new connections get the new
   * version); a bind failure throws {@link IllegalStateException}. Use
   * {@link #install} where the failure must be reported (an xDS NACK).
   */
  public void update(ProxySnapshot snapshot) {
    try {
      install(snapshot);
    } catch (ConfigException e) {
      throw new IllegalStateException(e.getMessage(), e);
    }
  }

  /**
   * {@link #update}, all or nothing: when a listener cannot bind, nothing changes and the
   * exception names the listener, its address and why. Before {@link #start} (or after a drain or
   * close) only the snapshot is swapped.
   */
  public synchronized void install(ProxySnapshot snapshot) throws ConfigException {
    ServingSnapshot compiled = ServingSnapshot.compile(dns.reconcile(snapshot), stats, health, context.snapshot(),
        dns::warming);
    if (!started || closed || context.draining()) {
      swapIn(compiled);
      return;
    }
    checkTransport(snapshot);
    ServingSnapshot before = context.snapshot(); // retired listeners' (and old versions') connections finish on it
    // first: a UDP bind failure leaves the TCP listeners untouched; a TCP one puts the UDP listeners back
    io.keelson.dataplane.udp.UdpListeners.Rollback udpChange = udpListeners.reconcile(snapshot.udpListeners());
    QuicListeners.Change quicChange;
    try {
      quicChange = quicListeners.reconcile(snapshot, before);
    } catch (ConfigException | RuntimeException e) {
      udpChange.undo();
      throw e;
    }
    ListenerSet.Change change;
    try {
      change = listeners.reconcile(snapshot.tcpListeners());
    } catch (ConfigException | RuntimeException e) {
      quicChange.undo();
      udpChange.undo();
      throw e;
    }
    quicChange.commit(); // the removed QUIC listeners drain now that the update holds
    listening = anyBound();
    if (!change.isEmpty()) {
      LOG.info("listeners: added {}, rebound {}, updated {}, taken over {}, removed {}", change.added(),
          change.rebound(), change.updated(), change.takenOver(), change.removed());
      // Before the swap: a request read on a retired listener's connection in between must not meet a
      // snapshot without its listener (that was a 503 "listener removed").
      listeners.retire(change, c -> Http1ProxyInitializer.retire(c, before));
    }
    swapIn(compiled);
    // After the swap: a new, moved, renamed or updated listener's first requests must find it in the snapshot (its
    // new socket accepts nothing before; clients that connect meanwhile wait in the backlog, or, on a socket taken
    // over, are the old listener's and drained).
    listeners.admit(change);
    udpListeners.endSessionsOfRemovedHosts();
  }

  /**
   * Puts {@code compiled} in service with whatever finished warming since it was compiled, atomically
   * against {@link HealthCheckService#onClusterWarm}'s swap: a cluster warming when compiled joins it
   * either here or in that swap, never in an older snapshot.
   */
  private void swapIn(ServingSnapshot compiled) {
    context.updateSnapshot(current -> compiled.activateWarmed(health, dns::warming));
    var logs = context.accessLogServiceIfStarted();
    if (logs != null) { // the loggers of tcp_proxy and udp_proxy lists no listener has now: their files close
      logs.retainShared(TcpProxyContext.accessLogLists(compiled.config()));
    }
  }

  /**
   * A DNS cluster's answer changed or its first lookup finished (on a lookup thread): the snapshot in effect is
   * compiled again with the clusters' latest addresses, as an EDS update would be, and swapped in; listeners stay.
   */
  private synchronized void refreshDnsClusters() {
    if (closed || !constructed) {
      return;
    }
    ServingSnapshot current = context.snapshot();
    ProxySnapshot resolved = dns.resolved(current.config());
    if (resolved == current.config()) { // a first lookup that failed: the cluster goes in service without hosts
      context.updateSnapshot(s -> s.activateWarmed(health, dns::warming));
      return;
    }
    swapIn(ServingSnapshot.compile(resolved, stats, health, current, dns::warming));
    udpListeners.endSessionsOfRemovedHosts();
  }

  public ServingSnapshot snapshot() {
    return context.snapshot();
  }

  public StatsRegistry stats() {
    return stats;
  }

  /** The kernel TLS offload policy in effect: the probe's answer and the counters (off before {@link #start}). */
  public TlsOffload tlsOffload() {
    return context.tlsOffload();
  }

  public ProxyOptions options() {
    return options;
  }

  /** The process's access log writer: its drop and write counters, or a replacement (before traffic). */
  public ProxyContext context() {
    return context;
  }

  public RoutingPipelines pipelines() {
    return pipelines;
  }

  /**
   * Makes {@code client} this proxy's xDS source: its counters join the stats, its warming clusters and listeners the
   * admin pages, and — as Envoy's init manager at start-up — the proxy is not live until the client's first
   * configuration is in service with its clusters and listeners warm (or their initial_fetch_timeout passed).
   */
  public void attach(io.keelson.dataplane.xds.XdsClient client) {
    stats.xds(client::stats);
    this.xds = client;
  }

  /** The attached xDS client's warming clusters and listeners, or null without one (a static bootstrap). */
  public io.keelson.dataplane.xds.XdsWarming warming() {
    io.keelson.dataplane.xds.XdsClient x = xds;
    return x == null ? null : x.warming();
  }

  /**
   * True once listening and initialized (see {@link #attach}; with {@link ProxyOptions#awaitsXds} not before an xDS
   * client is attached), until draining starts or the admin's {@code /healthcheck/fail}.
   */
  public boolean ready() {
    return state() == ServerLifecycle.LIVE;
  }

  /** Envoy's server state, as {@code /ready} and the {@code server.state} gauge tell it. */
  public ServerLifecycle state() {
    if (closed || context.draining()) {
      return ServerLifecycle.DRAINING;
    }
    io.keelson.dataplane.xds.XdsClient x = xds;
    if (x != null ? !x.initialized() : started && options.awaitsXds()) {
      return ServerLifecycle.INITIALIZING; // dynamic_resources: listening on static listeners is not initialized
    }
    if (!listening) { // not draining: before start, or no listener bound (nothing serves yet)
      return ServerLifecycle.PRE_INITIALIZING;
    }
    // Envoy's serverState(): initialized with a failed health check (/healthcheck/fail) is DRAINING
    return stats.server().healthCheckFailed() ? ServerLifecycle.DRAINING : ServerLifecycle.LIVE;
  }

  /** Downstream connections open now, of every listener (HTTP and tcp_proxy). */
  public int activeConnections() {
    return connections.size();
  }

  /**
   * Graceful stop: stop accepting, let in-flight exchanges finish and tcp_proxy connections relay (until they end,
   * up to the drain time), close what is left (waiting at most {@value #CLOSE_WAIT_SECONDS} s), then exit.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    context.startDraining();
    listeners.closeAll(true);
    udpListeners.closeAll();
    quicListeners.closeAll(false, context.snapshot());
    listening = false;
    for (Channel c : connections) {
      c.eventLoop().execute(() -> Http1ProxyInitializer.drain(c));
    }
    long deadline = System.nanoTime() + options.drainTime().toNanos();
    while (!connections.isEmpty() && System.nanoTime() < deadline) {
      try {
        Thread.sleep(10); // shutdown path only: polls the connection count, never on an event loop
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    closed = true;
    if (!connections.close().awaitUninterruptibly(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
      LOG.warn("close: {} connections still closing after {} s; stopping the event loops anyway",
          connections.size(), CLOSE_WAIT_SECONDS);
    }
    if (admin != null) {
      admin.close();
    }
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
    pipelines.close();
    health.close();
    dns.close();
    context.closeSpanExports();
    if (context.accessLogServiceIfStarted() != null) {
      context.accessLogServiceIfStarted().close();
    }
  }
}
