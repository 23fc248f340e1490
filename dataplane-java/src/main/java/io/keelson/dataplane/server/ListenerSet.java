package io.keelson.dataplane.server;

import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.ListenerConfig;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.unix.Errors;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.BindException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The proxy's bound listening sockets by listener name, made to follow the snapshots: binds the
 * listeners a snapshot adds, rebinds those whose address changed, and closes those it removes,
 * draining their connections (in-flight exchanges finish, idle ones close, and those still open when the
 * drain time has passed are closed, see {@link Drain}). A listener added at the address of one the same
 * update removes (a rename) takes that listener's socket over instead, as in Envoy; so does a listener's new
 * version when an update changes it but not its address (an in-place update, see {@link #updateInPlace}): its
 * old version's connections are drained like a removed listener's, its new connections are the new one's.
 * Binding is all or nothing: when one bind fails, what that call bound is closed again, an old socket a move
 * closed is bound again (see {@link #putBack}), and the set stays as it was. A socket bound here accepts
 * nothing until {@link #admit}: the kernel queues the connections clients open meanwhile, so none is set up
 * before the snapshot that has its listener.
 * Interception (Envoy's): a listener with the original_dst listener filter restores each accepted connection's
 * original destination; with use_original_dst the connection then belongs to the listener at that address (see
 * {@link HandoffIndex}), which may have {@code bind_to_port: false} (no socket, the same update, drain and in-place
 * update rules, its connections those it was handed).
 * Not thread-safe: the owner ({@link ProxyServer}) calls it under its monitor; the accept-time hand-off reads an
 * immutable index published through a volatile field.
 */
final class ListenerSet {
  private static final Logger LOG = LoggerFactory.getLogger(ListenerSet.class);
  private static final long DRAIN_HANDOFF_SECONDS = 2;
  private static final long SOCKET_CLOSE_SECONDS = 5;
  /**
   * Linux's EADDRINUSE and EADDRNOTAVAIL, negated as {@link Errors.NativeIoException#expectedErr()} carries
   * them (the asm-generic numbers: every architecture Netty's epoll and io_uring jars are built for).
   * Netty names neither among its {@code Errors} constants.
   */
  private static final int EADDRINUSE_NEGATIVE = -98;
  private static final int EADDRNOTAVAIL_NEGATIVE = -99;
  /**
   * How long a bind to the port of a socket this set has just closed may keep failing: the kernel can release a
   * closed listening socket a moment after its close completed (io_uring holds it until its pending accept is
   * cancelled), so the bind is tried again for this long.
   */
  private static final long FREED_PORT_MILLIS = 1_000;

  /**
   * One listener's share of a socket: the connections it accepted, the handler new connections get
   * (replaced when an update brings the same listener rebuilt, see {@link ListenerConfig#sameSource}), and,
   * once retired, the drain that a connection set up after the retirement began applies to itself.
   */
  private record Tenant(ChannelGroup connections, AtomicReference<ChannelHandler> handler,
      AtomicReference<Consumer<Channel>> retiring, boolean originalDst, boolean useOriginalDst) {
    /**
     * The listener's interception settings are part of its message, so a listener rebuilt from the same message
     * (which keeps its tenant) has the same ones.
     */
    static Tenant of(ListenerConfig listener, ChannelHandler handler) {
      return new Tenant(new DefaultChannelGroup("listener-" + listener.name(), GlobalEventExecutor.INSTANCE),
          new AtomicReference<>(handler), new AtomicReference<>(), listener.originalDst(), listener.useOriginalDst());
    }
  }

  /**
   * A bound listener: its current config, its socket, its {@link Tenant}, and the socket's current tenant,
   * which its connection set-up reads per accepted connection (a listener that takes the socket over
   * becomes the tenant; the one it replaces keeps its own connections and drains them). A listener with
   * {@code bind_to_port: false} has no socket ({@code channel} and {@code accepting} are null): it gets connections
   * only from a {@code use_original_dst} listener's hand-off (see {@link HandoffIndex}).
   */
  private record Bound(ListenerConfig config, Channel channel, Tenant tenant, AtomicReference<Tenant> accepting) {}

  /**
   * A listener whose old socket {@link #bindOrMove} closed to free its port for the listener's new host, and
   * the port that socket had (its config's port may be 0): what {@link #rollBack} binds again.
   */
  private record Moved(Bound old, int port) {}

  /**
   * What {@link #reconcile} changed; {@link #retire} closes the old sockets and drains their connections (the
   * owner calls it before it swaps the snapshot, so those connections never see one without their listener).
   * {@code takenOver} lists each rename as {@code "new <- old"}: the new listener accepts on the old one's
   * socket, which stays open, once {@link #admit} hands it over ({@code handovers}); the old name is also in
   * {@code removed}. {@code updated} lists the listeners changed in place: each one's new version takes its
   * old version's socket over the same way (also in {@code handovers}; the old version is in {@code retired}).
   * {@code paused} are the sockets bound for {@code added} and {@code rebound}: they start accepting in
   * {@link #admit}.
   */
  record Change(List<String> added, List<String> rebound, List<String> updated, List<String> takenOver,
      List<String> removed, List<Bound> retired, List<Bound> handovers, List<Bound> paused) {
    boolean isEmpty() {
      return added.isEmpty() && rebound.isEmpty() && updated.isEmpty() && takenOver.isEmpty() && removed.isEmpty();
    }
  }

  /**
   * A retired listener's drain, what its connections are told (each on its own event loop): {@code drain}, then,
   * when the drain time has passed since the retirement began ({@code deadline}, a {@link System#nanoTime}), a
   * close if the connection is still open, as Envoy closes what is left of a drained listener's connections when
   * its drain time ends: one that never sends a request, or an HTTP/2 connection whose client keeps a stream open,
   * would otherwise stay open on a listener that no longer exists. A connection set up during the handoff gets the
   * same deadline. The scheduled close holds its connection only until it runs (a connection that closed first is
   * left alone). The last one to run logs how many connections the deadline closed (a handoff connection whose close
   * runs after that logs its own).
   */
  private static final class Drain implements Consumer<Channel> {
    private final String listener;
    private final Consumer<Channel> drain;
    private final Duration drainTime;
    private final long deadline;
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger closed = new AtomicInteger();

    Drain(String listener, Consumer<Channel> drain, Duration drainTime) {
      this.listener = listener;
      this.drain = drain;
      this.drainTime = drainTime;
      this.deadline = System.nanoTime() + drainTime.toNanos();
    }

    @Override
    public void accept(Channel c) {
      drain.accept(c);
      pending.incrementAndGet();
      c.eventLoop().schedule(() -> expire(c), Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private void expire(Channel c) {
      if (c.isOpen()) {
        closeNow(c);
        closed.incrementAndGet();
      }
      if (pending.decrementAndGet() == 0) {
        int n = closed.getAndSet(0); // a handoff connection that comes after this logs only its own close
        if (n > 0) {
          LOG.info("listener '{}' drained: closed {} connections still open after the drain time ({} ms)", listener,
              n, drainTime.toMillis());
        }
      }
    }
  }

  /**
   * Closes {@code c} past its handlers, as a drain does when its drain time has passed: a plain close would be
   * graceful again on HTTP/2 (its codec waits for the open streams once more) and under TLS (close_notify first);
   * channelInactive still reaches every handler. Callable from any thread (the close runs on the channel's loop).
   */
  static void closeNow(Channel c) {
    ChannelHandlerContext first = c.pipeline().firstContext();
    if (first != null) {
      first.close(); // from the first handler's context: the close goes to the channel itself
    } else {
      c.close();
    }
  }

  private final Supplier<ServerBootstrap> bootstrap;
  private final Function<ListenerConfig, ChannelHandler> initializers;
  private final Duration drainTime;
  private final Map<String, Bound> bound = new LinkedHashMap<>();
  /** Where a use_original_dst listener hands connections: the listeners in effect, by address; rebuilt by {@link #admit}. */
  private volatile HandoffIndex<Tenant> handoff = HandoffIndex.empty();

  /**
   * @param bootstrap    a server bootstrap with group, channel type and options set
   * @param initializers the per-connection handler for a listener, or null when this process does
   *                     not serve that listener's kind (it is then left unbound)
   * @param drainTime    how long a retired listener's connections have to finish before they are closed
   */
  ListenerSet(Supplier<ServerBootstrap> bootstrap, Function<ListenerConfig, ChannelHandler> initializers,
      Duration drainTime) {
    this.bootstrap = bootstrap;
    this.initializers = initializers;
    this.drainTime = drainTime;
  }

  /**
   * Binds what {@code wanted} adds or moves; records what it removes. Old sockets stay open until
   * {@link #retire}, which the caller runs before it swaps the snapshot. A listener new by name whose
   * address is that of a listener this update removes takes over that socket (see {@link #takeOver}), and
   * so does a listener changed at the same address (see {@link #updateInPlace}).
   *
   * @throws ConfigException naming the listener and address when a bind fails (nothing changed; see
   *                         {@link #rollBack} for the one case where something could not be put back)
   */
  Change reconcile(List<ListenerConfig> wanted) throws ConfigException {
    Map<String, Bound> next = new LinkedHashMap<>();
    List<Bound> fresh = new ArrayList<>();
    List<Moved> moved = new ArrayList<>();
    List<String> added = new ArrayList<>();
    List<String> rebound = new ArrayList<>();
    List<String> updated = new ArrayList<>();
    List<String> takenOver = new ArrayList<>();
    Map<AtomicReference<ChannelHandler>, ChannelHandler> newHandlers = new IdentityHashMap<>();
    List<Bound> handovers = new ArrayList<>();
    Set<String> staying = new HashSet<>();
    wanted.forEach(l -> staying.add(l.name()));
    for (ListenerConfig l : wanted) {
      ChannelHandler handler = initializers.apply(l);
      if (handler == null) {
        continue;
      }
      Bound old = bound.get(l.name());
      if (!l.bindToPort()) {
        Bound b = unbound(l, handler, old, newHandlers);
        next.put(l.name(), b);
        if (old == null || old.channel() != null) {
          added.add(l.name());
        } else if (b.tenant() != old.tenant()) {
          updated.add(l.name());
        }
        continue;
      }
      if (old != null && old.channel() == null) {
        old = null; // was unbound: bound now, as a new listener (the unbound version is retired below)
      }
      if (old != null && sameAddress(old, l)) {
        if (updateInPlace(old.config(), l)) {
          Bound b = takeOver(l, handler, old);
          handovers.add(b);
          next.put(l.name(), b);
          updated.add(l.name());
          continue;
        }
        if (!old.config().equals(l)) {
          newHandlers.put(old.tenant().handler(), handler); // rebuilt, same listener: set once nothing can fail
        }
        next.put(l.name(), new Bound(l, old.channel(), old.tenant(), old.accepting()));
        continue;
      }
      Bound leaving = old == null ? leavingAt(l, staying, handovers) : null;
      if (leaving != null) {
        Bound b = takeOver(l, handler, leaving);
        handovers.add(b);
        next.put(l.name(), b);
        takenOver.add(l.name() + " <- " + leaving.config().name());
        continue;
      }
      Bound b;
      try {
        b = bindOrMove(l, handler, old, moved);
      } catch (ConfigException e) {
        throw rollBack(e, fresh, moved);
      }
      fresh.add(b);
      next.put(l.name(), b);
      (old == null ? added : rebound).add(l.name());
    }
    List<Bound> retired = new ArrayList<>();
    List<String> removed = new ArrayList<>();
    bound.forEach((name, b) -> {
      Bound kept = next.get(name);
      if (kept == null || kept.tenant() != b.tenant()) { // removed, moved to a new socket, or updated in place
        retired.add(b);
        if (kept == null) {
          removed.add(name);
        }
      }
    });
    newHandlers.forEach(AtomicReference::set);
    bound.clear();
    bound.putAll(next);
    return new Change(added, rebound, updated, takenOver, removed, retired, handovers, fresh);
  }

  /**
   * A {@code bind_to_port: false} listener: no socket. Its version in effect ({@code old}, when unbound too) keeps its
   * tenant unless this is an update in place (a new tenant; the old one's connections are drained as retired).
   */
  private static Bound unbound(ListenerConfig l, ChannelHandler handler, Bound old,
      Map<AtomicReference<ChannelHandler>, ChannelHandler> newHandlers) {
    if (old != null && old.channel() == null && !updateInPlace(old.config(), l)) {
      if (!old.config().equals(l)) {
        newHandlers.put(old.tenant().handler(), handler);
      }
      return new Bound(l, null, old.tenant(), null);
    }
    return new Bound(l, null, Tenant.of(l, handler), null);
  }

  /**
   * Whether {@code next}, at {@code current}'s address, is a new version of the listener, which Envoy puts in
   * place of the old one and drains the old one's connections: not when it is equal, nor when it was translated
   * from the same listener message (a re-push, whose translation builds new TLS contexts and matchers; or a route
   * config that RDS changed, which Envoy applies to the listener's connections without a drain). Those keep the
   * listener's connections, and their next requests see the new snapshot. A listener built in code (no source
   * message) is a new version whenever it is not equal.
   */
  private static boolean updateInPlace(ListenerConfig current, ListenerConfig next) {
    return !current.equals(next) && !current.sameSource(next);
  }

  /**
   * Undoes a failed {@link #reconcile}: closes the sockets it bound, then binds again (see {@link #putBack}) the
   * old sockets {@link #bindOrMove} closed, after the new ones, which may hold their ports, are closed. Returns
   * the exception to throw: {@code failure}, or, when an old socket cannot be bound again either, one that also
   * says which listener is left without a socket (the others are still put back).
   */
  private ConfigException rollBack(ConfigException failure, List<Bound> fresh, List<Moved> moved) {
    fresh.forEach(f -> closeSocket(f.channel()));
    List<ConfigException> lost = new ArrayList<>();
    for (Moved m : moved) {
      try {
        putBack(m);
      } catch (ConfigException e) {
        lost.add(e);
      }
    }
    if (lost.isEmpty()) {
      return failure;
    }
    StringBuilder message = new StringBuilder(failure.getMessage());
    lost.forEach(e -> message.append("; and the rollback failed: ").append(e.getMessage())
        .append(" (that listener has no socket until an update binds it)"));
    ConfigException out = new ConfigException(message.toString(), failure);
    lost.forEach(out::addSuppressed);
    return out;
  }

  /**
   * Binds a moved listener's old socket again at the address it had, for the snapshot still in effect, which has
   * it: with its own {@link Tenant} (closing the listening socket closed none of its connections; they stay its
   * own, with its handler and retiring state) and accepting at once. When that bind fails, the listener keeps its
   * closed socket, which {@link #sameAddress} never matches, so the next update binds it again.
   */
  private void putBack(Moved m) throws ConfigException {
    Bound old = m.old();
    Channel socket = openFreed(old.config().name(), old.config().host(), m.port(), old.accepting());
    startAccepting(socket);
    bound.put(old.config().name(), new Bound(old.config(), socket, old.tenant(), old.accepting()));
  }

  /**
   * The bound listener this update removes (its name is not in {@code staying}) whose socket is at
   * {@code l}'s address (as {@link #sameAddress} sees it) and not yet taken over by another listener of
   * this update ({@code taken}); null when there is none.
   */
  private Bound leavingAt(ListenerConfig l, Set<String> staying, List<Bound> taken) {
    for (Bound b : bound.values()) {
      if (b.channel() != null && !staying.contains(b.config().name()) && taken.stream().noneMatch(t -> t.channel() == b.channel())
          && sameAddress(b, l)) {
        return b;
      }
    }
    return null;
  }

  /**
   * {@code l} on {@code leaving}'s socket, as Envoy does when a new listener has the address of one the same
   * update removes, or when an update changes a listener but not its address: binding would fail while that
   * socket holds the port, and closing it first would refuse connections in between. {@code l} gets its own
   * tenant, so the connections {@code leaving} accepted are still its own (drained by {@link #retire}, on the
   * config they were accepted with) and the socket's connections after {@link #admit} are {@code l}'s.
   */
  private static Bound takeOver(ListenerConfig l, ChannelHandler handler, Bound leaving) {
    return new Bound(l, leaving.channel(), Tenant.of(l, handler), leaving.accepting());
  }

  /**
   * Stops accepting on the retired sockets and drains their connections with {@code drain} (called on each
   * connection's event loop; it gets the config the connection finishes on from its caller); waits (briefly)
   * until each connection has been told, so no request is read on it under a config that no longer has it.
   * A connection accepted before the socket closed but not yet set up is told by its own set-up (the retiring
   * mark is set before the connections are listed, and read after the connection joins them). A socket that
   * another listener, or the listener's own new version, took over stays open: only the retired listener's own
   * connections are drained.
   * Every one of them still open when the drain time has passed is closed (see {@link Drain}).
   */
  void retire(Change change, Consumer<Channel> drain) {
    List<Future<?>> told = new ArrayList<>();
    for (Bound b : change.retired()) {
      Drain retiring = new Drain(b.config().name(), drain, drainTime);
      b.tenant().retiring().set(retiring);
      if (b.channel() != null && !stillBound(b.channel())) {
        closeSocket(b.channel());
      }
      for (Channel c : b.tenant().connections()) {
        told.add(c.eventLoop().submit(() -> retiring.accept(c)));
      }
    }
    told.forEach(f -> f.awaitUninterruptibly(DRAIN_HANDOFF_SECONDS, TimeUnit.SECONDS));
  }

  /**
   * Hands each socket a listener took over to that listener: the socket's connections from now on are its
   * own; and starts accepting on the sockets {@link #reconcile} bound. The owner calls it after the snapshot
   * that has these listeners took effect (a request read before would find no listener, a 503 "listener
   * removed"); until then the taken-over sockets' new connections are the retired listener's, drained on its
   * config like the ones it had, and the new sockets' wait in the kernel's listen backlog.
   */
  void admit(Change change) {
    change.handovers().forEach(b -> b.accepting().set(b.tenant()));
    handoff = handoffIndex();
    change.paused().forEach(b -> startAccepting(b.channel()));
  }

  /** The listeners in effect by address, bound and unbound (a port-0 listener at the port it got). */
  private HandoffIndex<Tenant> handoffIndex() {
    HandoffIndex.Builder<Tenant> index = new HandoffIndex.Builder<>();
    for (Bound b : bound.values()) {
      int port = b.channel() != null ? boundPort(b) : b.config().port();
      index.add(b.config().host(), port, b.tenant());
    }
    return index.build();
  }

  /**
   * The tenant a connection accepted by {@code accepting} belongs to: with use_original_dst, the listener at the
   * connection's (restored) destination, an exact address first, else the wildcard one of its port; the accepting
   * listener itself when none is there (Envoy's rule).
   */
  private Tenant handoffTarget(Tenant accepting, Channel ch) {
    if (!accepting.useOriginalDst()) {
      return accepting;
    }
    Tenant target = handoff.find(io.keelson.dataplane.intercept.OriginalDestination.localAddress(ch));
    return target != null ? target : accepting;
  }

  /**
   * Turns on accepting on a socket bound paused (auto-read off): on a server channel, reading is accepting,
   * and turning auto-read on asks for the first read (from any thread; it runs on the socket's event loop).
   */
  private static void startAccepting(Channel socket) {
    socket.config().setAutoRead(true);
  }

  /** Closes every socket (the owner drains the connections); the set is empty afterwards. */
  void closeAll(boolean await) {
    for (Bound b : bound.values()) {
      if (b.channel() == null) {
        continue; // unbound: no socket
      }
      if (await) {
        closeSocket(b.channel());
      } else {
        b.channel().close();
      }
    }
    bound.clear();
    handoff = HandoffIndex.empty();
  }

  /** Closes a listening socket, waiting for its event loop at most {@value #SOCKET_CLOSE_SECONDS} s. */
  private static void closeSocket(Channel socket) {
    socket.close().awaitUninterruptibly(SOCKET_CLOSE_SECONDS, TimeUnit.SECONDS);
  }

  /** Whether a current listener accepts on {@code socket} (one took it over from a retired listener or version). */
  private boolean stillBound(Channel socket) {
    return bound.values().stream().anyMatch(b -> b.channel() == socket);
  }

  /** Bound addresses by name, in config order. */
  Map<String, InetSocketAddress> addresses() {
    Map<String, InetSocketAddress> out = new LinkedHashMap<>();
    bound.forEach((n, b) -> {
      if (b.channel() != null) {
        out.put(n, (InetSocketAddress) b.channel().localAddress());
      }
    });
    return out;
  }

  /**
   * Every listener in effect, in config order, as Envoy's admin /listeners shows it: {@code name::host:port}, the bound
   * address of a bound listener, the configured one of a {@code bind_to_port: false} listener.
   */
  List<String> listing() {
    List<String> out = new ArrayList<>();
    bound.forEach((n, b) -> {
      if (b.channel() != null) {
        InetSocketAddress a = (InetSocketAddress) b.channel().localAddress();
        out.add(n + "::" + a.getAddress().getHostAddress() + ":" + a.getPort());
      } else if (!b.config().bindToPort()) {
        out.add(n + "::" + b.config().host() + ":" + b.config().port());
      }
    });
    return out;
  }

  boolean isEmpty() {
    return bound.isEmpty();
  }

  /**
   * Same socket: same host, and the same port, or the port that an ephemeral (port 0) listener got
   * (a sidecar tells its control plane the port it bound, which then sends that port back). A closed
   * socket (one {@link #putBack} could not bind again) is nobody's: the listener is bound anew.
   */
  private static boolean sameAddress(Bound old, ListenerConfig l) {
    return old.channel() != null && old.channel().isOpen() && old.config().host().equals(l.host())
        && (old.config().port() == l.port() || boundPort(old) == l.port());
  }

  /** The port {@code b}'s socket is bound to (the one it got, for a port-0 listener). */
  private static int boundPort(Bound b) {
    return ((InetSocketAddress) b.channel().localAddress()).getPort();
  }

  /**
   * Binds {@code l}; when that fails because the listener's old socket holds the same port (a host
   * change, e.g. 127.0.0.1:8080 to 0.0.0.0:8080), closes the old socket and binds again. The closed
   * socket is recorded in {@code moved} first: when this bind or a later one of the update fails,
   * {@link #rollBack} binds it again.
   */
  private Bound bindOrMove(ListenerConfig l, ChannelHandler handler, Bound old, List<Moved> moved)
      throws ConfigException {
    try {
      return bind(l, handler);
    } catch (ConfigException e) {
      if (old == null || !old.channel().isOpen() || boundPort(old) != l.port()) {
        throw e;
      }
    }
    moved.add(new Moved(old, boundPort(old)));
    closeSocket(old.channel());
    Tenant tenant = Tenant.of(l, handler);
    AtomicReference<Tenant> accepting = new AtomicReference<>(tenant);
    return new Bound(l, openFreed(l.name(), l.host(), l.port(), accepting), tenant, accepting);
  }

  /**
   * {@link #open} on a port whose socket this set has just closed, trying again for up to {@value
   * #FREED_PORT_MILLIS} ms while the kernel still holds it.
   */
  private Channel openFreed(String name, String host, int port, AtomicReference<Tenant> accepting)
      throws ConfigException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(FREED_PORT_MILLIS);
    while (true) {
      try {
        return open(name, host, port, accepting);
      } catch (ConfigException e) {
        if (System.nanoTime() - deadline >= 0) {
          throw e;
        }
        try {
          Thread.sleep(10);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  /**
   * Binds {@code l} paused: the socket holds the port and completes handshakes (into its backlog) but
   * accepts nothing until {@link #startAccepting}, which {@link #admit} runs once {@code l} is in effect.
   */
  private Bound bind(ListenerConfig l, ChannelHandler handler) throws ConfigException {
    Tenant tenant = Tenant.of(l, handler);
    AtomicReference<Tenant> accepting = new AtomicReference<>(tenant);
    return new Bound(l, open(l.name(), l.host(), l.port(), accepting), tenant, accepting);
  }

  /**
   * A socket for listener {@code name} bound paused at {@code host:port}, whose connections go to the tenant
   * {@code accepting} holds when each is set up.
   *
   * @throws ConfigException naming the listener and address when the bind fails
   */
  private Channel open(String name, String host, int port, AtomicReference<Tenant> accepting)
      throws ConfigException {
    ServerBootstrap b = bootstrap.get().option(ChannelOption.AUTO_READ, false); // accepting waits for admit
    b.childHandler(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel ch) {
        Tenant socketTenant = accepting.get(); // the socket's listener now: another one after a takeover
        if (socketTenant.originalDst()) {
          io.keelson.dataplane.intercept.OriginalDestination.restore(ch); // the original_dst listener filter
        }
        Tenant t = handoffTarget(socketTenant, ch);
        t.connections().add(ch);
        ch.pipeline().addLast(t.handler().get());
        Consumer<Channel> drain = t.retiring().get();
        if (drain != null) {
          drain.accept(ch); // accepted just before the listener was retired, set up after its connections were told
        }
      }
    });
    try {
      return b.bind(host, port).sync().channel();
    } catch (Exception e) {
      if (e instanceof InterruptedException) {
        Thread.currentThread().interrupt();
      }
      throw new ConfigException("listener '" + name + "' cannot bind " + host + ":" + port + ": " + describe(e), e);
    }
  }

  /**
   * Why a bind failed, for the listener's error: the address in use or not local (what the JDK's
   * {@link BindException} means), said the same on every transport, else the exception's own message.
   */
  static String describe(Exception e) {
    return addressUnusable(e) ? "address already in use or not local" : String.valueOf(e.getMessage());
  }

  /**
   * NIO reports both as a {@link BindException}; epoll and io_uring as a native {@code bind(..)} failure
   * ("bind(..) failed with error(-98): Address already in use"), which is a plain IOException.
   */
  private static boolean addressUnusable(Exception e) {
    return e instanceof BindException
        || e instanceof Errors.NativeIoException n
            && (n.expectedErr() == EADDRINUSE_NEGATIVE || n.expectedErr() == EADDRNOTAVAIL_NEGATIVE);
  }
}
