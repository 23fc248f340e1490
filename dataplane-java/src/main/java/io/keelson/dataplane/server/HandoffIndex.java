package io.keelson.dataplane.server;

import io.netty.util.collection.IntObjectHashMap;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * The listeners a {@code use_original_dst} listener hands connections to, by address, with Envoy's rule: the
 * listener at exactly the destination IP:port, else the wildcard ({@code 0.0.0.0} or {@code ::}) one of its port.
 * Listeners whose host is not an IP literal are left out (a destination is always an address). Immutable once
 * built; {@link #find} allocates nothing and may run on any thread.
 *
 * @param <T> what a listener is here (the listener set's per-listener state)
 */
final class HandoffIndex<T> {
  private static final HandoffIndex<Object> EMPTY = new HandoffIndex<>(Map.of(), new IntObjectHashMap<>());

  private final Map<InetSocketAddress, T> exact;
  private final IntObjectHashMap<T> wildcard;

  private HandoffIndex(Map<InetSocketAddress, T> exact, IntObjectHashMap<T> wildcard) {
    this.exact = exact;
    this.wildcard = wildcard;
  }

  @SuppressWarnings("unchecked")
  static <T> HandoffIndex<T> empty() {
    return (HandoffIndex<T>) EMPTY;
  }

  /** The listener for a connection to {@code destination}, or null when no listener is there. */
  T find(InetSocketAddress destination) {
    if (destination == null) {
      return null;
    }
    T t = exact.get(destination);
    return t != null ? t : wildcard.get(destination.getPort());
  }

  /** Collects listeners by address; the first listener at an address wins. Not thread-safe. */
  static final class Builder<T> {
    private final Map<InetSocketAddress, T> exact = new HashMap<>();
    private final IntObjectHashMap<T> wildcard = new IntObjectHashMap<>();

    void add(String host, int port, T listener) {
      InetAddress address;
      try {
        address = InetAddress.ofLiteral(host);
      } catch (IllegalArgumentException e) {
        return; // a host name: no connection's destination names it
      }
      if (address.isAnyLocalAddress()) {
        wildcard.putIfAbsent(port, listener);
      } else {
        exact.putIfAbsent(new InetSocketAddress(address, port), listener);
      }
    }

    HandoffIndex<T> build() {
      return new HandoffIndex<>(Map.copyOf(exact), wildcard);
    }
  }
}
