package io.keelson.dataplane.server;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The proxy's bound listening sockets by listener name, made to follow the snapshots: binds the
 * listeners a snapshot adds, rebinds those whose address changed, and closes those it removes,
 * draining their connections (in-flight exchanges finish, idle ones close). Binding is all or
 * nothing: when one bind fails, what that call bound is closed again and the set stays as it was.
 * Not thread-safe: the owner ({@link ProxyServer}) calls it under its monitor.
 */
final class ListenerSet {
  private static final long DRAIN_HANDOFF_SECONDS = 2;
  private static final long SOCKET_CLOSE_SECONDS = 5;

  /**
   * A bound listener: its current config, its socket, the connections it accepted, the handler
   * new connections get (replaced when an update keeps the socket but changes the listener), and, once
   * retired, the drain that a connection set up after the retirement began applies to itself.
   */
  private record Bound(ListenerConfig config, Channel channel, ChannelGroup connections,
      AtomicReference<ChannelHandler> handler, AtomicReference<Consumer<Channel>> retiring) {}

  /**
   * What {@link #reconcile} changed; {@link #retire} closes the old sockets and drains their connections (the
   * owner calls it before it swaps the snapshot, so those connections never see one without their listener).
   */
  record Change(List<String> added, List<String> rebound, List<String> removed, List<Bound> retired) {
    boolean isEmpty() {
      return added.isEmpty() && rebound.isEmpty() && removed.isEmpty();
    }
  }

  private final Supplier<ServerBootstrap> bootstrap;
  private final Function<ListenerConfig, ChannelHandler> initializers;
  private final Map<String, Bound> bound = new LinkedHashMap<>();

  /**
   * @param bootstrap    a server bootstrap with group, channel type and options set
   * @param initializers the per-connection handler for a listener, or null when this process does
   *                     not serve that listener's kind (it is then left unbound)
   */
  ListenerSet(Supplier<ServerBootstrap> bootstrap, Function<ListenerConfig, ChannelHandler> initializers) {
    this.bootstrap = bootstrap;
    this.initializers = initializers;
  }

  /**
   * Binds what {@code wanted} adds or moves; records what it removes. Old sockets stay open until
   * {@link #retire}, which the caller runs before it swaps the snapshot.
   *
   * @throws ConfigException naming the listener and address when a bind fails (nothing changed)
   */
  Change reconcile(List<ListenerConfig> wanted) throws ConfigException {
    Map<String, Bound> next = new LinkedHashMap<>();
    List<Bound> fresh = new ArrayList<>();
    List<String> added = new ArrayList<>();
    List<String> rebound = new ArrayList<>();
    Map<AtomicReference<ChannelHandler>, ChannelHandler> newHandlers = new java.util.IdentityHashMap<>();
    for (ListenerConfig l : wanted) {
      ChannelHandler handler = initializers.apply(l);
      if (handler == null) {
        continue;
      }
      Bound old = bound.get(l.name());
      if (old != null && sameAddress(old, l)) {
        if (!old.config().equals(l)) {
          newHandlers.put(old.handler(), handler); // same socket, new settings: set once nothing can fail
        }
        next.put(l.name(), new Bound(l, old.channel(), old.connections(), old.handler(), old.retiring()));
        continue;
      }
      Bound b;
      try {
        b = bindOrMove(l, handler, old);
      } catch (ConfigException e) {
        fresh.forEach(f -> closeSocket(f.channel()));
        throw e;
      }
      fresh.add(b);
      next.put(l.name(), b);
      (old == null ? added : rebound).add(l.name());
    }
    List<Bound> retired = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    bound.forEach((name, b) -> {
      Bound kept = next.get(name);
      if (kept == null || kept.channel() != b.channel()) {
        retired.add(b);
        if (kept == null) {
          removed.add(name);
        }
      }
    });
    newHandlers.forEach(AtomicReference::set);
    bound.clear();
    bound.putAll(next);
    return new Change(added, rebound, removed, retired);
  }

  /**
   * Stops accepting on the retired sockets and drains their connections with {@code drain} (called on each
   * connection's event loop; it gets the config the connection finishes on from its caller); waits (briefly)
   * until each connection has been told, so no request is read on it under a config that no longer has it.
   * A connection accepted before the socket closed but not yet set up is told by its own set-up (the retiring
   * mark is set before the connections are listed, and read after the connection joins them).
   */
  void retire(Change change, Consumer<Channel> drain) {
    List<Future<?>> told = new ArrayList<>();
    for (Bound b : change.retired()) {
      b.retiring().set(drain);
      closeSocket(b.channel());
      for (Channel c : b.connections()) {
        told.add(c.eventLoop().submit(() -> drain.accept(c)));
      }
    }
    told.forEach(f -> f.awaitUninterruptibly(DRAIN_HANDOFF_SECONDS, TimeUnit.SECONDS));
  }

  /** Closes every socket and drains every connection; the set is empty afterwards. */
  void closeAll(boolean await) {
    for (Bound b : bound.values()) {
      if (await) {
        closeSocket(b.channel());
      } else {
        b.channel().close();
      }
    }
    bound.clear();
  }

  /** Closes a listening socket, waiting for its event loop at most {@value #SOCKET_CLOSE_SECONDS} s. */
  private static void closeSocket(Channel socket) {
    socket.close().awaitUninterruptibly(SOCKET_CLOSE_SECONDS, TimeUnit.SECONDS);
  }

  /** Bound addresses by name, in config order. */
  Map<String, InetSocketAddress> addresses() {
    Map<String, InetSocketAddress> out = new LinkedHashMap<>();
    bound.forEach((n, b) -> out.put(n, (InetSocketAddress) b.channel().localAddress()));
    return out;
  }

  boolean isEmpty() {
    return bound.isEmpty();
  }

  /**
   * Same socket: same host, and the same port, or the port that an ephemeral (port 0) listener got
   * (a sidecar tells its control plane the port it bound, which then sends that port back).
   */
  private static boolean sameAddress(Bound old, ListenerConfig l) {
    int boundPort = ((InetSocketAddress) old.channel().localAddress()).getPort();
    return old.config().host().equals(l.host()) && (old.config().port() == l.port() || boundPort == l.port());
  }

  /**
   * Binds {@code l}; when that fails because the listener's old socket holds the same port (a host
   * change, e.g. 127.0.0.1:8080 to 0.0.0.0:8080), closes the old socket and binds again, putting the
   * old one back when that fails too.
   */
  private Bound bindOrMove(ListenerConfig l, ChannelHandler handler, Bound old) throws ConfigException {
    try {
      return bind(l, handler);
    } catch (ConfigException e) {
      if (old == null || ((InetSocketAddress) old.channel().localAddress()).getPort() != l.port()) {
        throw e;
      }
    }
    int oldPort = ((InetSocketAddress) old.channel().localAddress()).getPort();
    closeSocket(old.channel());
    try {
      return bind(l, handler);
    } catch (ConfigException e) {
      Bound back = bind(new ListenerConfig(old.config().name(), old.config().host(), oldPort,
          old.config().http(), old.config().tcpProxy(), null, List.of(), false, List.of()), initializers.apply(old.config()));
      old.connections().forEach(back.connections()::add);
      bound.put(old.config().name(), new Bound(old.config(), back.channel(), back.connections(), back.handler(), back.retiring()));
      throw e;
    }
  }

  private Bound bind(ListenerConfig l, ChannelHandler handler) throws ConfigException {
    ChannelGroup connections = new DefaultChannelGroup("listener-" + l.name(), GlobalEventExecutor.INSTANCE);
    AtomicReference<ChannelHandler> current = new AtomicReference<>(handler);
    AtomicReference<Consumer<Channel>> retiring = new AtomicReference<>();
    ServerBootstrap b = bootstrap.get().childHandler(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        connections.add(ch);
        ch.pipeline().addLast(current.get());
        Consumer<Channel> drain = retiring.get();
        if (drain != null) {
          drain.accept(ch); // accepted just before the listener was retired, set up after its connections were told
        }
      }
    });
    try {
      return new Bound(l, b.bind(l.host(), l.port()).sync().channel(), connections, current, retiring);
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new ConfigException("listener '" + l.name() + "' cannot bind " + l.host() + ":" + l.port() + ": "
          + describe(e), e);
    }
  }

  static String describe(Exception e) {
    return e instanceof BindException ? "address already in use or not local" : String.valueOf(e.getMessage());
  }
}
