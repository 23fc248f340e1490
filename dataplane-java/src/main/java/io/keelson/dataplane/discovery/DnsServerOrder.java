package io.keelson.dataplane.discovery;

import io.netty.resolver.dns.DnsServerAddressStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The order in which one try of a question asks a resolver config's servers, as c-ares: from the first server or, with
 * rotate_nameservers, each try starting at the next one. Confined to the DNS client's event loop.
 */
final class DnsServerOrder {
  private final List<InetSocketAddress> servers;
  private final boolean rotate;
  private int next;

  DnsServerOrder(List<InetSocketAddress> servers, boolean rotate) {
    if (servers.isEmpty()) {
      throw new IllegalArgumentException("no DNS server");
    }
    this.servers = List.copyOf(servers);
    this.rotate = rotate;
  }

  /** How many servers there are. */
  int size() {
    return servers.size();
  }

  /** The next try's servers in the order it asks them, each once. */
  List<InetSocketAddress> nextOrder() {
    int n = servers.size();
    int start = 0;
    if (rotate) {
      start = next;
      next = (next + 1) % n;
    }
    List<InetSocketAddress> order = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      order.add(servers.get((start + i) % n));
    }
    return order;
  }

  /** {@link #nextOrder} as the stream Netty's resolver walks (one query per entry, then the try fails). */
  DnsServerAddressStream stream() {
    return new Stream(nextOrder(), 0);
  }

  private static final class Stream implements DnsServerAddressStream {
    private final List<InetSocketAddress> order;
    private int at;

    Stream(List<InetSocketAddress> order, int at) {
      this.order = order;
      this.at = at;
    }

    @Override
    public InetSocketAddress next() {
      InetSocketAddress a = order.get(at);
      at = (at + 1) % order.size();
      return a;
    }

    @Override
    public int size() {
      return order.size();
    }

    @Override
    public Stream duplicate() {
      return new Stream(order, at);
    }
  }
}
