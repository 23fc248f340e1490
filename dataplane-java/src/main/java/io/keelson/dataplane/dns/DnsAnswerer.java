package io.keelson.dataplane.dns;

import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Answers one DNS query from a {@link NameTable}, or says that it must be forwarded upstream. Pure logic on Netty
 * buffers: the query's name is read into a reused buffer and looked up by its bytes, the answer written into the
 * caller's buffer, nothing allocated.
 *
 * <ul>
 *   <li>a name in the table (as asked, or once one of the resolver's search domains is taken off its end: the app
 *       asked {@code reviews} and its resolver tried {@code reviews.shop.svc.cluster.local}): A (AAAA) records of
 *       its IPv4 (IPv6) addresses, authoritative; another type, or a family it has no address of: NOERROR with no
 *       answer (NODATA);
 *   <li>a name under a zone of the table ({@code svc.cluster.local}) that is not in it: NXDOMAIN;
 *   <li>anything else (and a class other than IN): forwarded;
 *   <li>a malformed query: FORMERR when its header can be echoed, else dropped; a response, or a header shorter than
 *       12 bytes: dropped; an opcode other than QUERY: NOTIMP;
 *   <li>EDNS (RFC 6891): a query with an OPT record gets one back ({@link Edns}); one of a version other than 0 gets
 *       BADVERS, forwarded or not; an answer over UDP is cut to the size the client takes (512 bytes without EDNS),
 *       whole records only, with TC set.
 * </ul>
 *
 * Not thread-safe: one per event loop.
 */
final class DnsAnswerer {
  /** What {@link #answer} did. */
  enum Outcome { ANSWERED, TRUNCATED, NODATA, NXDOMAIN, FORWARD, FORMERR, NOTIMP, BADVERS, DROP }

  /** An answer record less its address: name pointer, type, class, TTL, length. */
  private static final int RECORD_FIXED = 12;
  private static final int CACHE_EDNS = 0x01;
  private static final int CACHE_DO = 0x02;
  private static final int CACHE_RD = 0x04;
  private static final int CACHE_CD = 0x08;
  private static final int CACHE_AD = 0x10;

  /** The last query's name (lower case), type, class and EDNS. */
  final DnsWire.NameBuffer name = new DnsWire.NameBuffer();
  int qtype;
  int qclass;
  final Edns edns = new Edns();
  private final byte[][] searchDomains;

  /** @param searchDomains the resolver's search list ({@code search} in resolv.conf), any case */
  DnsAnswerer(List<String> searchDomains) {
    this.searchDomains = new byte[searchDomains.size()][];
    for (int i = 0; i < searchDomains.size(); i++) {
      this.searchDomains[i] = NameTable.normalize(searchDomains.get(i)).getBytes(StandardCharsets.ISO_8859_1);
    }
  }

  /**
   * Answers {@code query} (its readable bytes: one message) into {@code out}; writes nothing for
   * {@link Outcome#FORWARD} and {@link Outcome#DROP}. After a FORWARD, {@link #name}, {@link #qtype}, {@link #qclass}
   * and {@link #edns} describe the query.
   *
   * @param udp whether it came over UDP: its answer is then cut to the size the client takes ({@link Edns#udpLimit})
   *            with TC set
   */
  Outcome answer(ByteBuf query, NameTable table, ByteBuf out, boolean udp) {
    int start = query.readerIndex();
    if (query.readableBytes() < DnsWire.HEADER_SIZE) {
      return Outcome.DROP;
    }
    int id = DnsWire.id(query);
    int flags = DnsWire.flags(query);
    if ((flags & DnsWire.FLAG_QR) != 0) {
      return Outcome.DROP; // a response sent to us: answering it could start a loop
    }
    int rd = flags & DnsWire.FLAG_RD;
    if ((flags & DnsWire.OPCODE_MASK) != 0) {
      DnsWire.writeHeader(out, id, DnsWire.FLAG_QR | (flags & DnsWire.OPCODE_MASK) | rd | DnsWire.RCODE_NOTIMP, 0, 0);
      return Outcome.NOTIMP;
    }
    int nameEnd = readQuestion(query);
    if (nameEnd < 0 || !edns.read(query, nameEnd + 4)) {
      DnsWire.writeHeader(out, id, DnsWire.FLAG_QR | rd | DnsWire.RCODE_FORMERR, 0, 0);
      return Outcome.FORMERR;
    }
    int questionLength = nameEnd + 4 - (start + DnsWire.HEADER_SIZE);
    if (edns.present && edns.version != 0) { // RFC 6891 6.1.3: the proxy is the responder, forwarded or not
      DnsWire.writeHeader(out, id, DnsWire.FLAG_QR | rd | DnsWire.FLAG_RA, 1, 0, 1);
      out.writeBytes(query, start + DnsWire.HEADER_SIZE, questionLength);
      edns.writeOpt(out, Edns.EXTENDED_RCODE_BADVERS);
      return Outcome.BADVERS;
    }
    if (qclass != DnsWire.CLASS_IN || !name.plain) {
      return Outcome.FORWARD;
    }
    NameTable.Entry entry = lookup(table);
    int answerFlags = DnsWire.FLAG_QR | DnsWire.FLAG_AA | rd | DnsWire.FLAG_RA;
    if (entry == null) {
      if (!table.inZone(name.bytes, name.length)) {
        return Outcome.FORWARD;
      }
      DnsWire.writeHeader(out, id, answerFlags | DnsWire.RCODE_NXDOMAIN, 1, 0, edns.present ? 1 : 0);
      out.writeBytes(query, start + DnsWire.HEADER_SIZE, questionLength);
      edns.writeOpt(out, 0);
      return Outcome.NXDOMAIN;
    }
    List<byte[]> addresses = qtype == DnsWire.TYPE_A ? entry.v4() : qtype == DnsWire.TYPE_AAAA ? entry.v6() : List.of();
    int count = addresses.size();
    if (udp && count > 0) { // as many whole records as fit, TC when not all do (RFC 2181 9)
      int room = edns.udpLimit() - DnsWire.HEADER_SIZE - questionLength - edns.optSize();
      count = Math.min(count, Math.max(0, room) / (RECORD_FIXED + addresses.getFirst().length));
    }
    int tc = count < addresses.size() ? DnsWire.FLAG_TC : 0;
    DnsWire.writeHeader(out, id, answerFlags | tc | DnsWire.RCODE_NOERROR, 1, count, edns.present ? 1 : 0);
    out.writeBytes(query, start + DnsWire.HEADER_SIZE, questionLength);
    for (int i = 0; i < count; i++) {
      byte[] a = addresses.get(i);
      out.writeShort(0xC000 | DnsWire.HEADER_SIZE) // a pointer to the question's name
          .writeShort(qtype).writeShort(DnsWire.CLASS_IN).writeInt(DnsWire.TTL_SECONDS).writeShort(a.length).writeBytes(a);
    }
    edns.writeOpt(out, 0);
    return tc != 0 ? Outcome.TRUNCATED : addresses.isEmpty() ? Outcome.NODATA : Outcome.ANSWERED;
  }

  /**
   * Reads the one question of {@code query} into {@link #name}, {@link #qtype} and {@link #qclass}.
   *
   * @return the absolute offset of its type, or -1 when there is not exactly one question that parses
   */
  private int readQuestion(ByteBuf query) {
    int nameEnd = DnsWire.count(query, DnsWire.QDCOUNT_OFFSET) != 1 ? -1
        : DnsWire.readName(query, query.readerIndex() + DnsWire.HEADER_SIZE, name);
    if (nameEnd < 0 || nameEnd + 4 > query.writerIndex()) {
      return -1;
    }
    qtype = query.getUnsignedShort(nameEnd);
    qclass = query.getUnsignedShort(nameEnd + 2);
    return nameEnd;
  }

  /**
   * The bits of the last query that change an upstream's answer besides its question, in one byte for a cache key: RD,
   * CD and AD (RFC 6840 5.7), and whether it carried EDNS (an answer has an OPT record only then) with DO set (DNSSEC
   * records only then).
   */
  int cacheFlags(ByteBuf query) {
    int flags = DnsWire.flags(query);
    return ((flags & DnsWire.FLAG_RD) != 0 ? CACHE_RD : 0) | ((flags & DnsWire.FLAG_CD) != 0 ? CACHE_CD : 0)
        | ((flags & DnsWire.FLAG_AD) != 0 ? CACHE_AD : 0) | (edns.present ? CACHE_EDNS : 0)
        | (edns.dnssecOk ? CACHE_DO : 0);
  }

  /** The entry of the name as asked, else of the name less one of the search domains at its end. */
  private NameTable.Entry lookup(NameTable table) {
    byte[] n = name.bytes;
    int length = name.length;
    NameTable.Entry entry = table.lookup(n, 0, length);
    for (int i = 0; entry == null && i < searchDomains.length; i++) {
      byte[] d = searchDomains[i];
      int rest = length - d.length - 1;
      if (rest > 0 && n[rest] == '.' && java.util.Arrays.equals(d, 0, d.length, n, rest + 1, length)) {
        entry = table.lookup(n, 0, rest);
      }
    }
    return entry;
  }

  /** SERVFAIL for {@code query} (a well-formed header; its question echoed and an OPT added when they parse). */
  void servfail(ByteBuf query, ByteBuf out) {
    int start = query.readerIndex();
    int id = DnsWire.id(query);
    int rd = DnsWire.flags(query) & DnsWire.FLAG_RD;
    int nameEnd = readQuestion(query);
    boolean question = nameEnd >= 0;
    boolean opt = question && edns.read(query, nameEnd + 4) && edns.present;
    DnsWire.writeHeader(out, id, DnsWire.FLAG_QR | rd | DnsWire.FLAG_RA | DnsWire.RCODE_SERVFAIL, question ? 1 : 0, 0,
        opt ? 1 : 0);
    if (question) {
      out.writeBytes(query, start + DnsWire.HEADER_SIZE, nameEnd + 4 - (start + DnsWire.HEADER_SIZE));
    }
    if (opt) {
      edns.writeOpt(out, 0);
    }
  }
}
