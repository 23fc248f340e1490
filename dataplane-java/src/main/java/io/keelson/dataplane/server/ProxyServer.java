package io.keelson.dataplane.server;

import io.keelson.dataplane.admin.AdminServer;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.http1.Http1ProxyInitializer;
import io.keelson.dataplane.http1.ProxyContext;
import io.keelson.dataplane.routing.RoutingPipelines;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.health.HealthCheckService;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.tcp.TcpListeners;
import io.keelson.dataplane.tcp.TcpProxyContext;
import io.keelson.dataplane.tcp.TcpProxyInitializer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One proxy process's socket path: binds every HTTP and tcp_proxy listener of the snapshot (tcp_proxy
 * VIPs balanced by MAGLEV/RING_HASH are left to the DPDK gateway) on N event loops, runs
 * the admin listener, swaps snapshots, and drains on shutdown (stop accepting, finish in-flight
 * exchanges, close idle keep-alive connections, exit). Thread-safe; {@link #close} is idempotent.
 */
public final class ProxyServer implements AutoCloseable {
  private final ProxyOptions options;
  private final StatsRegistry stats = new StatsRegistry();
  private final RoutingPipelines pipelines;
  private final HealthCheckService health;
  private final ProxyContext context;
  private final TcpProxyContext tcpContext;
  private final EventLoopGroup workers;
  private final ChannelGroup connections = new DefaultChannelGroup("downstream", GlobalEventExecutor.INSTANCE);
  private final Map<String, Channel> listeners = new LinkedHashMap<>();
  private AdminServer admin;
  private volatile boolean closed;

  public ProxyServer(ProxySnapshot snapshot, ProxyOptions options) {
    this.options = options;
    this.pipelines = new RoutingPipelines(options.pipeline(), options.ringSize());
    this.health = new HealthCheckService(options.transport(), stats);
    this.context = new ProxyContext(ServingSnapshot.compile(snapshot, stats, health), pipelines, options.transport(), stats);
    this.workers = options.transport().newGroup(options.concurrency(), "keelson-worker");
    this.tcpContext = new TcpProxyContext(context::snapshot, options.transport(), stats);
  }

  /** Binds the listeners and the admin endpoint; throws with the address when a bind fails. */
  public ProxyServer start() throws InterruptedException {
    for (ListenerConfig l : context.snapshot().config().listeners()) {
      io.netty.channel.ChannelHandler initializer;
      if (l.http() != null) {
        initializer = new Http1ProxyInitializer(context, l, connections);
      } else if (TcpListeners.runsOnSocketPath(l, context.snapshot().config())) {
        initializer = new TcpProxyInitializer(tcpContext, l);
      } else {
        continue; // a VIP whose clusters balance with MAGLEV/RING_HASH belongs to the DPDK gateway
      }
      ServerBootstrap b =
          new ServerBootstrap()
              .group(workers)
              .channel(options.transport().serverChannel())
              .option(ChannelOption.SO_BACKLOG, 4096)
              .option(ChannelOption.SO_REUSEADDR, true)
              .childOption(ChannelOption.TCP_NODELAY, true)
              .childHandler(initializer);
      try {
        listeners.put(l.name(), b.bind(l.host(), l.port()).sync().channel());
      } catch (Exception e) {
        close();
        throw new IllegalStateException(
            "listener '" + l.name() + "' cannot bind " + l.host() + ":" + l.port() + ": " + describe(e), e);
      }
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
    return this;
  }

  private static String describe(Exception e) {
    return e instanceof BindException ? "address already in use or not local" : String.valueOf(e.getMessage());
  }

  /** The bound address of a listener (the real port when the config asked for port 0). */
  public InetSocketAddress listenerAddress(String name) {
    Channel ch = listeners.get(name);
    if (ch == null) {
      throw new IllegalArgumentException("no listener named '" + name + "'; have " + listeners.keySet());
    }
    return (InetSocketAddress) ch.localAddress();
  }

  /** Bound listener addresses by name, in config order (empty after a drain). */
  public synchronized Map<String, InetSocketAddress> boundListeners() {
    Map<String, InetSocketAddress> out = new LinkedHashMap<>();
    listeners.forEach((n, ch) -> out.put(n, (InetSocketAddress) ch.localAddress()));
    return out;
  }

  /**
   * Envoy's /drain_listeners: stop accepting, close idle keep-alive connections and let in-flight
   * exchanges finish with {@code connection: close}. Does not wait; the process keeps running.
   */
  public synchronized void drainListeners() {
    context.startDraining();
    for (Channel l : listeners.values()) {
      l.close();
    }
    listeners.clear();
    for (Channel c : connections) {
      c.eventLoop().execute(() -> Http1ProxyInitializer.drain(c));
    }
  }

  public InetSocketAddress adminAddress() {
    return admin == null ? null : admin.address();
  }

  /** Swaps in a new snapshot for new requests (listener addresses are fixed at start for now). */
  public void update(ProxySnapshot snapshot) {
    context.snapshot(ServingSnapshot.compile(snapshot, stats, health, context.snapshot()));
  }

  public ServingSnapshot snapshot() {
    return context.snapshot();
  }

  public StatsRegistry stats() {
    return stats;
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

  /** True once listening and until draining starts. */
  public boolean ready() {
    return !closed && !context.draining() && !listeners.isEmpty();
  }

  public int activeConnections() {
    return connections.size();
  }

  /** Graceful stop: stop accepting, let in-flight exchanges finish (up to the drain time), then exit. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    context.startDraining();
    for (Channel l : listeners.values()) {
      l.close().awaitUninterruptibly();
    }
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
    connections.close().awaitUninterruptibly();
    if (admin != null) {
      admin.close();
    }
    workers.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    pipelines.close();
    health.close();
    context.closeSpanExports();
    if (context.accessLogServiceIfStarted() != null) {
      context.accessLogServiceIfStarted().close();
    }
  }
}
