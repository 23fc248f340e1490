package io.keelson.dataplane.hw;

import java.util.Map;

/**
 * Offload and RSS names as a profile writes them (lower case, DPDK's names without the prefix) and
 * their bits in DPDK 22.11 ({@code RTE_ETH_RX_OFFLOAD_*}, {@code RTE_ETH_TX_OFFLOAD_*},
 * {@code RTE_ETH_RSS_*}, rte_ethdev.h). The bits are checked against DPDK's own names by the tests
 * where DPDK is installed.
 */
public final class OffloadFlags {
  public static final Map<String, Long> RX = Map.ofEntries(
      Map.entry("vlan_strip", 1L << 0),
      Map.entry("ipv4_cksum", 1L << 1),
      Map.entry("udp_cksum", 1L << 2),
      Map.entry("tcp_cksum", 1L << 3),
      Map.entry("tcp_lro", 1L << 4),
      Map.entry("qinq_strip", 1L << 5),
      Map.entry("outer_ipv4_cksum", 1L << 6),
      Map.entry("macsec_strip", 1L << 7),
      Map.entry("vlan_filter", 1L << 9),
      Map.entry("vlan_extend", 1L << 10),
      Map.entry("scatter", 1L << 13),
      Map.entry("timestamp", 1L << 14),
      Map.entry("security", 1L << 15),
      Map.entry("keep_crc", 1L << 16),
      Map.entry("sctp_cksum", 1L << 17),
      Map.entry("outer_udp_cksum", 1L << 18),
      Map.entry("rss_hash", 1L << 19),
      Map.entry("buffer_split", 1L << 20));

  public static final Map<String, Long> TX = Map.ofEntries(
      Map.entry("vlan_insert", 1L << 0),
      Map.entry("ipv4_cksum", 1L << 1),
      Map.entry("udp_cksum", 1L << 2),
      Map.entry("tcp_cksum", 1L << 3),
      Map.entry("sctp_cksum", 1L << 4),
      Map.entry("tcp_tso", 1L << 5),
      Map.entry("udp_tso", 1L << 6),
      Map.entry("outer_ipv4_cksum", 1L << 7),
      Map.entry("qinq_insert", 1L << 8),
      Map.entry("macsec_insert", 1L << 13),
      Map.entry("mt_lockfree", 1L << 14),
      Map.entry("multi_segs", 1L << 15),
      Map.entry("mbuf_fast_free", 1L << 16),
      Map.entry("security", 1L << 17));

  public static final Map<String, Long> RSS = Map.ofEntries(
      Map.entry("ipv4", 1L << 2),
      Map.entry("frag_ipv4", 1L << 3),
      Map.entry("nonfrag_ipv4_tcp", 1L << 4),
      Map.entry("nonfrag_ipv4_udp", 1L << 5),
      Map.entry("nonfrag_ipv4_sctp", 1L << 6),
      Map.entry("nonfrag_ipv4_other", 1L << 7),
      Map.entry("ipv6", 1L << 8),
      Map.entry("frag_ipv6", 1L << 9),
      Map.entry("nonfrag_ipv6_tcp", 1L << 10),
      Map.entry("nonfrag_ipv6_udp", 1L << 11),
      Map.entry("nonfrag_ipv6_sctp", 1L << 12),
      Map.entry("nonfrag_ipv6_other", 1L << 13));

  private OffloadFlags() {}
}
