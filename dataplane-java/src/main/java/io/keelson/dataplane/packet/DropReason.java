package io.keelson.dataplane.packet;

import java.util.Locale;

/**
 * Why the gateway dropped a packet. The names are stable (they are exported as metric labels,
 * {@link #label()}); add new reasons at the end so the ordinals stay stable too.
 *
 * <p>Threading: immutable enum.
 */
public enum DropReason {
  /** Shorter than an Ethernet header (or the VLAN tag it announces). */
  TRUNCATED_ETHERNET,
  /** Neither IPv4 nor ARP (after at most one VLAN tag). */
  UNKNOWN_ETHERTYPE,
  /** IPv6 on a port without an IPv6 address (the gateway runs IPv4 only there). */
  IPV6_UNSUPPORTED,
  /** Destination MAC is neither the receiving port's nor broadcast. */
  NOT_OUR_MAC,
  TRUNCATED_ARP,
  /** ARP for something other than IPv4 over Ethernet, or an unknown operation. */
  MALFORMED_ARP,
  /** ARP that asks for, or answers, an address that is not ours (nothing to learn or answer). */
  ARP_NOT_FOR_US,
  TRUNCATED_IPV4,
  BAD_IP_VERSION,
  /** IHL below 5 or header beyond the packet. */
  BAD_IHL,
  /** Total length beyond the packet or below the header length. */
  BAD_TOTAL_LENGTH,
  BAD_IP_CHECKSUM,
  /** Fragments (IPv4, or an IPv6 fragment header) are not reassembled by this gateway. */
  FRAGMENT,
  /** TTL (IPv6: hop limit) 0 on arrival, or 1 on a packet that would be forwarded. */
  TTL_EXPIRED,
  TRUNCATED_TCP,
  /** TCP data offset below 5 or beyond the IP payload. */
  BAD_TCP_OFFSET,
  TRUNCATED_UDP,
  /** UDP length field below 8 or beyond the IP payload. */
  BAD_UDP_LENGTH,
  TRUNCATED_ICMP,
  /** An IP protocol other than TCP, UDP and ICMP to a VIP or the gateway itself. */
  UNSUPPORTED_PROTOCOL,
  /** ICMP to the gateway or a VIP that is not an echo request. */
  ICMP_UNSUPPORTED,
  /** Destination is not a VIP, not the gateway, not a SNAT address: the gateway does not route transit traffic. */
  NOT_FOR_US,
  /** To a VIP address but no VIP listens on that port and protocol. */
  NO_VIP_LISTENER,
  ACL_DENIED,
  SYN_RATE_LIMITED,
  /** A TCP segment that does not open a flow (no SYN) and matches no tracked flow, or return traffic to an unknown SNAT tuple. */
  NO_FLOW,
  /** The connection-tracking table is full; new flows are refused (existing ones keep working). */
  CONNTRACK_FULL,
  /** No free SNAT port toward the chosen backend within the configured range. */
  SNAT_EXHAUSTED,
  /** The VIP has no backend with a positive weight. */
  NO_BACKEND,
  /** No interface or route reaches the next hop. */
  NO_ROUTE,
  /** The next hop's MAC is not known yet; a who-has was (or recently had been) sent. */
  ARP_UNRESOLVED,
  /** Traffic for the gateway's own address while no exception (kernel tap) port is configured. */
  NO_EXCEPTION_PORT,
  /** Shorter than the 40-byte IPv6 header. */
  TRUNCATED_IPV6,
  /** IPv6 payload length beyond the frame, or 0 (jumbograms are not supported). */
  BAD_IPV6_PAYLOAD_LENGTH,
  /**
   * An IPv6 extension header beyond the payload, a hop-by-hop header not first, a routing header with segments
   * left, or more than {@link Ipv6#MAX_EXTENSION_HEADERS} of them.
   */
  BAD_IPV6_EXTENSION,
  /** Neighbor Discovery that RFC 4861 says to ignore: hop limit not 255, code not 0, too short, a bad option. */
  MALFORMED_NDP,
  /** A Neighbor Solicitation for an address the gateway does not answer on that port, or an unsolicited, unknown advertisement. */
  NDP_NOT_FOR_US,
  /** The IPv6 next hop's MAC is not known yet; a Neighbor Solicitation was (or recently had been) sent. */
  NDP_UNRESOLVED,
  /**
   * A duplicate address detection probe for one of the gateway's IPv6 addresses that came within a second of
   * the last one answered for that address (each answer is multicast to the whole link).
   */
  NDP_RATE_LIMITED;

  private static final DropReason[] VALUES = values();

  private final String label = name().toLowerCase(Locale.ROOT);

  /** The metric label: the name in lower snake case, stable across releases. */
  public String label() {
    return label;
  }

  public static DropReason ofOrdinal(int ordinal) {
    return VALUES[ordinal];
  }

  public static int count() {
    return VALUES.length;
  }
}
