package io.keelson.dataplane.udp;

import io.keelson.dataplane.accesslog.AccessLogger;
import io.keelson.dataplane.config.AccessLogConfig;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.UdpListenerConfig;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The proxy's bound UDP listeners by name, made to follow the snapshots: binds the ones a snapshot adds, closes the ones
 * it removes, and replaces one whose message changed (its sessions end, as Envoy's drain of a UDP listener closes
 * them). One socket per listener, on one event loop of the workers. Not thread-safe: the owner (the proxy server)
 * calls it under its monitor.
 */
public final class UdpListeners {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(UdpListeners.class);

  private record Bound(UdpListenerConfig config, Channel channel, UdpProxyListener handler) {}

  private final EventLoopGroup workers;
  private final Transport transport;
  private final StatsRegistry stats;
  private final Supplier<ServingSnapshot> snapshots;
  private final Function<List<AccessLogConfig>, AccessLogger> accessLoggers;
  private final Map<String, Bound> bound = new LinkedHashMap<>();

  public UdpListeners(EventLoopGroup workers, Transport transport, StatsRegistry stats,
      Supplier<ServingSnapshot> snapshots, Function<List<AccessLogConfig>, AccessLogger> accessLoggers) {
    this.workers = workers;
    this.transport = transport;
    this.stats = stats;
    this.snapshots = snapshots;
    this.accessLoggers = accessLoggers;
  }

  /** Puts the UDP listeners back as they were before a {@link #reconcile} (the rest of the update failed). */
  public interface Rollback {
    void undo();
  }

  /**
   * Makes the bound listeners {@code wanted}: closes removed and changed ones, binds new and changed ones. When a bind
   * fails, the listeners are put back as they were (the replaced ones rebound at their addresses, their sessions
   * gone) and the exception names the listener and its address; otherwise the result undoes this call the same way.
   */
  public Rollback reconcile(List<UdpListenerConfig> wanted) throws ConfigException {
    Map<String, UdpListenerConfig> byName = new LinkedHashMap<>();
    wanted.forEach(l -> byName.put(l.name(), l));
    List<Bound> closed = new ArrayList<>();
    for (Bound b : new ArrayList<>(bound.values())) {
      UdpListenerConfig next = byName.get(b.config().name());
      if (next == null || !same(b.config(), next)) {
        close(bound.remove(b.config().name()));
        closed.add(b);
      }
    }
    List<String> added = new ArrayList<>();
    Rollback rollback = () -> {
      added.forEach(name -> close(bound.remove(name)));
      for (Bound b : closed) {
        try {
          bound.put(b.config().name(), bind(b.config(), ((InetSocketAddress) b.channel().localAddress()).getPort()));
        } catch (Exception e) { // its address was taken meanwhile: it stays closed
          LOG.warn("UDP listener '{}' could not be rebound after a failed update: {}", b.config().name(), e.toString());
        }
      }
    };
    for (UdpListenerConfig l : wanted) {
      if (bound.containsKey(l.name())) {
        continue;
      }
      try {
        bound.put(l.name(), bind(l, l.port()));
        added.add(l.name());
      } catch (Exception e) {
        rollback.undo();
        throw new ConfigException("UDP listener '" + l.name() + "' cannot bind " + l.host() + ":" + l.port() + ": "
            + e.getMessage());
      }
    }
    return rollback;
  }

  /** The same message at the same address: kept with its sessions. */
  private static boolean same(UdpListenerConfig a, UdpListenerConfig b) {
    return a.sourceDigest() != null && a.sourceDigest().equals(b.sourceDigest()) && a.host().equals(b.host())
        && (b.port() == 0 || a.port() == b.port());
  }

  private Bound bind(UdpListenerConfig l, int port) throws InterruptedException {
    UdpProxyListener handler = new UdpProxyListener(l, snapshots, transport, stats,
        accessLoggers.apply(l.accessLogs()));
    Channel channel = new Bootstrap().group(workers).channel(transport.datagramChannel())
        .option(ChannelOption.SO_REUSEADDR, true)
        .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(l.downstreamMaxRxDatagramSize()))
        .handler(handler)
        .bind(l.host(), port).sync().channel();
    return new Bound(l, channel, handler);
  }

  private static void close(Bound b) {
    b.channel().close().syncUninterruptibly(); // its handler ends the sessions when the socket goes inactive
  }

  /** Ends sessions whose host left its cluster in the snapshot now in effect (each on its listener's event loop). */
  public void endSessionsOfRemovedHosts() {
    ServingSnapshot snapshot = snapshots.get();
    for (Bound b : bound.values()) {
      b.channel().eventLoop().execute(() -> b.handler().endSessionsOfRemovedHosts(snapshot));
    }
  }

  /** Closes every listener and its sessions. */
  public void closeAll() {
    new ArrayList<>(bound.values()).forEach(UdpListeners::close);
    bound.clear();
  }

  /** Bound addresses by listener name (the real port when the config asked for port 0). */
  public Map<String, InetSocketAddress> addresses() {
    Map<String, InetSocketAddress> out = new LinkedHashMap<>();
    bound.forEach((name, b) -> out.put(name, (InetSocketAddress) b.channel().localAddress()));
    return out;
  }

  /** Envoy's admin /listeners lines ({@code name::host:port}, as Envoy prints UDP listeners too). */
  public List<String> listing() {
    List<String> out = new ArrayList<>();
    addresses().forEach((name, a) -> out.add(name + "::" + a.getAddress().getHostAddress() + ":" + a.getPort()));
    return out;
  }
}
