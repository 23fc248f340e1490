package io.keelson.dataplane.dns;

import io.netty.buffer.ByteBuf;

/**
 * EDNS(0) (RFC 6891) as the proxy speaks it in its own answers: the OPT record of a query, read from its additional
 * section, and the OPT record of the answer. Layout of an OPT record:
 *
 * <pre>
 *  NAME   TYPE      CLASS               TTL                                     RDLENGTH  RDATA
 *  +----+---------+-------------------+---------------+---------+-------------+---------+------------------+
 *  | 00 | 00 29   | UDP payload size  | extended RCODE| VERSION | DO | Z (15) | length  | options (code,   |
 *  |    | (41)    | (2 bytes)         | (upper 8 bits)|         |            |         |  length, data)*  |
 *  +----+---------+-------------------+---------------+---------+-------------+---------+------------------+
 * </pre>
 *
 * The proxy's OPT offers {@link #PAYLOAD_SIZE} bytes (DNS flag day 2020), copies the query's DO bit (RFC 3225) and
 * carries no options: it implements none (a cookie or client subnet asked for is not echoed). Reused from query to
 * query on the DNS event loop; not thread-safe.
 */
final class Edns {
  /** The UDP payload the proxy offers and the most it sends over UDP (DNS flag day 2020: no IP fragmentation). */
  static final int PAYLOAD_SIZE = 1232;
  /** The UDP answer size of a client without EDNS (RFC 1035). */
  static final int CLASSIC_UDP_SIZE = 512;
  /** The size of the proxy's OPT record: root name, type, class, TTL, RDLENGTH 0. */
  static final int OPT_SIZE = 11;
  /** BADVERS (16): its upper 8 bits go in the OPT record, its lower 4 (0) in the header. */
  static final int EXTENDED_RCODE_BADVERS = 16 >> 4;
  static final int DO_BIT = 0x8000;
  /** EDNS Client Subnet (RFC 7871): an answer to a query with it may be for that subnet only. */
  static final int OPTION_CLIENT_SUBNET = 8;

  /** Whether the last query read carried an OPT record. */
  boolean present;
  /** Its UDP payload size (values under 512 are read as 512, RFC 6891 6.2.5). */
  int udpSize;
  int version;
  boolean dnssecOk;
  /** Whether it carried a client subnet option (its answer is not cached). */
  boolean clientSubnet;

  /**
   * Reads the records after the question of {@code query} (from absolute offset {@code at}): answer and authority
   * records are skipped, an OPT record in the additional section is read.
   *
   * @return false when the records are malformed, or there is more than one OPT record, or it is not at the root: the
   *     query gets FORMERR (RFC 6891 6.1.1)
   */
  boolean read(ByteBuf query, int at) {
    present = false;
    udpSize = CLASSIC_UDP_SIZE;
    version = 0;
    dnssecOk = false;
    clientSubnet = false;
    int skip = DnsWire.count(query, DnsWire.ANCOUNT_OFFSET) + DnsWire.count(query, DnsWire.NSCOUNT_OFFSET);
    for (int i = 0; i < skip && at >= 0; i++) {
      at = DnsWire.skipRecord(query, at);
    }
    int additional = DnsWire.count(query, DnsWire.ARCOUNT_OFFSET);
    for (int i = 0; i < additional && at >= 0; i++) {
      int next = DnsWire.skipRecord(query, at);
      if (next >= 0 && query.getUnsignedShort(DnsWire.skipName(query, at)) == DnsWire.TYPE_OPT) {
        if (present || query.getUnsignedByte(at) != 0) {
          return false;
        }
        present = true;
        udpSize = Math.max(CLASSIC_UDP_SIZE, query.getUnsignedShort(at + 3));
        version = query.getUnsignedByte(at + 6);
        dnssecOk = (query.getUnsignedShort(at + 7) & DO_BIT) != 0;
        clientSubnet = hasOption(query, at + 11, next, OPTION_CLIENT_SUBNET);
      }
      at = next;
    }
    return at >= 0;
  }

  /** Whether the options in {@code [from, to)} (absolute) include {@code code}. */
  private static boolean hasOption(ByteBuf msg, int from, int to, int code) {
    for (int at = from; at + 4 <= to; at += 4 + msg.getUnsignedShort(at + 2)) {
      if (msg.getUnsignedShort(at) == code) {
        return true;
      }
    }
    return false;
  }

  /**
   * Writes the proxy's OPT record in place of an upstream's, whose fixed part (after its root name) is at {@code fixed}
   * (absolute) in {@code upstream}: {@link #PAYLOAD_SIZE}, the upstream's extended RCODE, version and DO bit, no
   * options (a cookie or client subnet the upstream echoed to one client is not replayed to another).
   */
  static void writeOptFrom(ByteBuf out, ByteBuf upstream, int fixed) {
    out.writeByte(0).writeShort(DnsWire.TYPE_OPT).writeShort(PAYLOAD_SIZE)
        .writeByte(upstream.getUnsignedByte(fixed + 4)).writeByte(upstream.getUnsignedByte(fixed + 5))
        .writeShort(upstream.getUnsignedShort(fixed + 6) & DO_BIT).writeShort(0);
  }

  /** The largest answer this client takes over UDP: what it offers, at least 512 and at most {@link #PAYLOAD_SIZE}. */
  int udpLimit() {
    return present ? Math.min(udpSize, PAYLOAD_SIZE) : CLASSIC_UDP_SIZE;
  }

  /** The bytes the proxy's OPT record adds to an answer to this query. */
  int optSize() {
    return present ? OPT_SIZE : 0;
  }

  /** Writes the proxy's OPT record when the query had one (an answer has one only then). */
  void writeOpt(ByteBuf out, int extendedRcode) {
    if (present) {
      out.writeByte(0).writeShort(DnsWire.TYPE_OPT).writeShort(PAYLOAD_SIZE)
          .writeByte(extendedRcode).writeByte(0).writeShort(dnssecOk ? DO_BIT : 0).writeShort(0);
    }
  }
}
