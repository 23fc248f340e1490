package io.keelson.dataplane.server;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.QuicOptions;
import io.keelson.dataplane.http1.ProxyContext;
import io.keelson.dataplane.http2.Http3Listener;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.tls.QuicServerTls;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The proxy's HTTP/3 listeners by name, made to follow the snapshots: binds the ones a snapshot adds (one UDP socket per
 * listener, on one event loop of the workers, which serves all its QUIC connections), and drains the ones it removes
 * or changes (GOAWAY, open streams finish on the snapshot they started with, then the connections and, after the drain
 * time at most, the socket close). A changed listener needs its port back for its new socket, so its old version's
 * socket is closed at once and its connections end. A re-push of the same listener (or an RDS change) keeps it.
 * Not thread-safe: the owner ({@link ProxyServer}) calls it under its monitor.
 */
final class QuicListeners {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(QuicListeners.class);

  private record Bound(ListenerConfig config, QuicOptions quic, Channel channel, Http3Listener listener) {}

  private final EventLoopGroup workers;
  private final io.keelson.dataplane.transport.Transport transport;
  private final ProxyContext context;
  private final Duration drainTime;
  private final Map<String, Bound> bound = new LinkedHashMap<>();

  QuicListeners(EventLoopGroup workers, io.keelson.dataplane.transport.Transport transport, ProxyContext context,
      Duration drainTime) {
    this.workers = workers;
    this.transport = transport;
    this.context = context;
    this.drainTime = drainTime;
  }

  /**
   * A {@link #reconcile} in progress: {@link #commit} once the rest of the update succeeded (the removed listeners
   * drain), or {@link #undo} to put the QUIC listeners back as they were (the rest failed).
   */
  interface Change {
    void commit();

    void undo();
  }

  /**
   * Makes the bound listeners {@code snapshot}'s QUIC listeners: binds new ones, replaces changed ones (closed at once:
   * their port is wanted again) and takes removed ones out, to drain with {@code before} on {@link Change#commit} (see
   * the class comment); until then they keep serving. When a bind fails, the listeners are put back as they were (a
   * replaced one rebound at its address, its connections gone) and the exception names the listener and its address.
   */
  Change reconcile(ProxySnapshot snapshot, ServingSnapshot before) throws ConfigException {
    Map<String, ListenerConfig> wanted = new LinkedHashMap<>();
    for (ListenerConfig l : snapshot.listeners()) {
      if (snapshot.quicListeners().containsKey(l.name())) {
        wanted.put(l.name(), l);
      }
    }
    List<Bound> retired = new ArrayList<>();
    List<Bound> replaced = new ArrayList<>();
    for (Bound b : new ArrayList<>(bound.values())) {
      ListenerConfig next = wanted.get(b.config().name());
      if (next == null) {
        retired.add(bound.remove(b.config().name()));
      } else if (!same(b.config(), next)) {
        bound.remove(b.config().name());
        b.channel().close().syncUninterruptibly(); // its port is wanted again now
        replaced.add(b);
      }
    }
    List<String> added = new ArrayList<>();
    Change change = new Change() {
      @Override
      public void commit() {
        retired.forEach(b -> drain(b, before));
        if (!added.isEmpty() || !retired.isEmpty()) {
          LOG.info("QUIC listeners: added {}, removed {}", added, retired.stream().map(b -> b.config().name()).toList());
        }
      }

      @Override
      public void undo() {
        added.forEach(name -> bound.remove(name).channel().close());
        retired.forEach(b -> bound.put(b.config().name(), b));
        for (Bound b : replaced) {
          try {
            int port = ((InetSocketAddress) b.channel().localAddress()).getPort();
            bound.put(b.config().name(), bind(b.config(), port, b.quic()));
          } catch (Exception e) { // its address was taken meanwhile: it stays closed
            LOG.warn("QUIC listener '{}' could not be rebound after a failed update: {}", b.config().name(), e.toString());
          }
        }
      }
    };
    for (ListenerConfig l : wanted.values()) {
      if (bound.containsKey(l.name())) {
        continue;
      }
      try {
        bound.put(l.name(), bind(l, l.port(), snapshot.quicListeners().get(l.name())));
        added.add(l.name());
      } catch (Exception e) {
        change.undo();
        throw new ConfigException("QUIC listener '" + l.name() + "' cannot bind UDP " + l.host() + ":" + l.port()
            + ": " + ListenerSet.describe(e));
      }
    }
    return change;
  }

  /** The same message at the same address: kept with its connections. */
  private static boolean same(ListenerConfig a, ListenerConfig b) {
    return a.sameSource(b) && a.host().equals(b.host()) && (b.port() == 0 || a.port() == b.port());
  }

  private Bound bind(ListenerConfig l, int port, QuicOptions quic) throws InterruptedException {
    Http3Listener listener = new Http3Listener(context, l, quic);
    Channel channel = new Bootstrap().group(workers).channel(transport.datagramChannel())
        .option(ChannelOption.SO_REUSEADDR, true)
        .handler(listener.codec(QuicServerTls.context(l)))
        .bind(l.host(), port).sync().channel();
    QuicServerTls.rotateTicketKeysOn(channel.eventLoop(), channel.closeFuture());
    return new Bound(l, quic, channel, listener);
  }

  private void drain(Bound b, ServingSnapshot before) {
    b.listener().retire(before, drainTime).addListener(f -> b.channel().close());
  }

  /** Closes every listener; with {@code drain}, after its connections drained. */
  void closeAll(boolean drain, ServingSnapshot current) {
    for (Bound b : bound.values()) {
      if (drain) {
        drain(b, current);
      } else {
        b.channel().close();
      }
    }
    bound.clear();
  }

  /** Bound addresses by listener name (the real port when the config asked for port 0). */
  Map<String, InetSocketAddress> addresses() {
    Map<String, InetSocketAddress> out = new LinkedHashMap<>();
    bound.forEach((name, b) -> out.put(name, (InetSocketAddress) b.channel().localAddress()));
    return out;
  }

  /** Envoy's admin /listeners lines ({@code name::host:port}, as Envoy prints its UDP listeners). */
  List<String> listing() {
    List<String> out = new ArrayList<>();
    addresses().forEach((name, a) -> out.add(name + "::" + a.getAddress().getHostAddress() + ":" + a.getPort()));
    return out;
  }
}
