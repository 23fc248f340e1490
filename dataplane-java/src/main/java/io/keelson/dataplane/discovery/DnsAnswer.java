package io.keelson.dataplane.discovery;

import java.net.InetAddress;
import java.util.List;

/**
 * One name's lookup: the addresses its cluster's dns_lookup_family keeps, and the least TTL of their records.
 * Immutable.
 *
 * @param addresses  in the answer's order
 * @param ttlSeconds the least TTL of the addresses' records; -1 when the resolver gives none (the JDK's)
 */
record DnsAnswer(List<InetAddress> addresses, long ttlSeconds) {
  static final long NO_TTL = -1;

  DnsAnswer {
    addresses = List.copyOf(addresses);
  }

  /** An address record: its address and its TTL. */
  record Address(InetAddress address, long ttlSeconds) {}
}
