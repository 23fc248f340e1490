package io.keelson.dataplane.dns;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;

/**
 * The layout of a DNS message (RFC 1035 4.1) and the few reads and writes the proxy needs, on Netty buffers,
 * without allocating:
 *
 * <pre>
 *  0      2      4        6        8        10       12
 *  +------+------+--------+--------+--------+--------+---------------------------------------------+
 *  |  ID  |FLAGS |QDCOUNT |ANCOUNT |NSCOUNT |ARCOUNT | question: QNAME (labels) QTYPE(2) QCLASS(2) | answers ...
 *  +------+------+--------+--------+--------+--------+---------------------------------------------+
 *  FLAGS: QR(15) OPCODE(14..11) AA(10) TC(9) RD(8) RA(7) Z AD CD RCODE(3..0)
 * </pre>
 *
 * Stateless.
 */
public final class DnsWire {
  public static final int HEADER_SIZE = 12;
  public static final int ID_OFFSET = 0;
  public static final int FLAGS_OFFSET = 2;
  public static final int QDCOUNT_OFFSET = 4;
  public static final int ANCOUNT_OFFSET = 6;
  public static final int NSCOUNT_OFFSET = 8;
  public static final int ARCOUNT_OFFSET = 10;

  public static final int FLAG_QR = 0x8000;
  public static final int OPCODE_MASK = 0x7800;
  public static final int FLAG_AA = 0x0400;
  public static final int FLAG_TC = 0x0200;
  public static final int FLAG_RD = 0x0100;
  public static final int FLAG_RA = 0x0080;
  /** Authentic data (RFC 4035; in a query, RFC 6840 5.7: the client understands it). */
  public static final int FLAG_AD = 0x0020;
  /** Checking disabled (RFC 4035): the client validates DNSSEC itself. */
  public static final int FLAG_CD = 0x0010;
  public static final int RCODE_MASK = 0x000F;

  public static final int RCODE_NOERROR = 0;
  public static final int RCODE_FORMERR = 1;
  public static final int RCODE_SERVFAIL = 2;
  public static final int RCODE_NXDOMAIN = 3;
  public static final int RCODE_NOTIMP = 4;

  public static final int TYPE_A = 1;
  public static final int TYPE_AAAA = 28;
  public static final int TYPE_SOA = 6;
  /** EDNS(0)'s pseudo-record (RFC 6891). */
  public static final int TYPE_OPT = 41;
  public static final int CLASS_IN = 1;

  /** The longest name in presentation form without the final dot (RFC 1035: 255 octets on the wire). */
  public static final int MAX_NAME = 253;
  static final int MAX_LABEL = 63;
  /** Seconds a mesh answer may be cached (Istio's DNS proxy answers with 30). */
  public static final int TTL_SECONDS = 30;

  private DnsWire() {}

  public static int id(ByteBuf msg) {
    return msg.getUnsignedShort(msg.readerIndex() + ID_OFFSET);
  }

  public static int flags(ByteBuf msg) {
    return msg.getUnsignedShort(msg.readerIndex() + FLAGS_OFFSET);
  }

  public static int count(ByteBuf msg, int offset) {
    return msg.getUnsignedShort(msg.readerIndex() + offset);
  }

  /**
   * Reads the question name at {@code offset} (absolute) into {@code name} in presentation form, lower case, without
   * the final dot ({@code "."}, the root, is length 0). Compression pointers are refused (a query's question has
   * none).
   *
   * @return the absolute offset after the name, or -1 when it is malformed: truncated, a label over 63 octets, a
   *     name over 255 octets, or a pointer. {@code name.length} is set; {@code name.plain} is false when a label
   *     holds a dot or a byte outside printable ASCII (such a name is never in the table).
   */
  public static int readName(ByteBuf msg, int offset, NameBuffer name) {
    int end = msg.writerIndex();
    int at = offset;
    int length = 0;
    int wire = 0;
    boolean plain = true;
    byte[] out = name.bytes;
    while (true) {
      if (at >= end) {
        return -1;
      }
      int label = msg.getUnsignedByte(at++);
      wire++;
      if (label == 0) {
        break;
      }
      if ((label & 0xC0) != 0 || label > MAX_LABEL || at + label > end) {
        return -1;
      }
      wire += label;
      if (wire > 255) {
        return -1;
      }
      if (length > 0) {
        out[length++] = '.';
      }
      for (int i = 0; i < label; i++) {
        byte b = msg.getByte(at + i);
        if (b >= 'A' && b <= 'Z') {
          b = (byte) (b + ('a' - 'A'));
        } else if (b == '.' || b <= ' ' || b >= 0x7F) {
          plain = false;
        }
        out[length++] = b;
      }
      at += label;
    }
    name.length = length;
    name.plain = plain;
    return at;
  }

  /**
   * The offset after the name at {@code offset} (absolute) in a whole message, where a name may end in a compression
   * pointer (records after the question); -1 when it runs past the end or has a label over 63 octets.
   */
  public static int skipName(ByteBuf msg, int offset) {
    int end = msg.writerIndex();
    int at = offset;
    while (at < end) {
      int label = msg.getUnsignedByte(at);
      if (label == 0) {
        return at + 1;
      }
      if ((label & 0xC0) == 0xC0) {
        return at + 2 <= end ? at + 2 : -1;
      }
      if (label > MAX_LABEL) {
        return -1;
      }
      at += 1 + label;
    }
    return -1;
  }

  /**
   * The offset after the resource record at {@code offset} (absolute): its name, type, class, TTL, length and data;
   * -1 when it runs past the end. The record's type is at {@code skipName(msg, offset)}, its TTL 4 bytes after it.
   */
  public static int skipRecord(ByteBuf msg, int offset) {
    int fixed = skipName(msg, offset);
    if (fixed < 0 || fixed + 10 > msg.writerIndex()) {
      return -1;
    }
    int next = fixed + 10 + msg.getUnsignedShort(fixed + 8);
    return next <= msg.writerIndex() ? next : -1;
  }

  /**
   * Where the question of {@code response} ends (absolute offset) when it is {@code query}'s question byte for byte
   * (name in the same case, uncompressed, type and class) and the only one; -1 otherwise. An answer is taken and kept
   * only for the question asked exactly as it was forwarded (the 0x20 case of the name included).
   */
  static int sameQuestion(ByteBuf query, ByteBuf response) {
    int q = query.readerIndex() + HEADER_SIZE;
    int r = response.readerIndex() + HEADER_SIZE;
    int qEnd = skipName(query, q);
    if (qEnd < 0 || count(response, QDCOUNT_OFFSET) != 1) {
      return -1;
    }
    int length = qEnd + 4 - q;
    if (q + length > query.writerIndex() || r + length > response.writerIndex()
        || !ByteBufUtil.equals(query, q, response, r, length)) {
      return -1;
    }
    return r + length;
  }

  /** Writes a header. */
  static void writeHeader(ByteBuf out, int id, int flags, int qd, int an) {
    writeHeader(out, id, flags, qd, an, 0);
  }

  /** Writes a header with {@code ar} additional records (the OPT record). */
  static void writeHeader(ByteBuf out, int id, int flags, int qd, int an, int ar) {
    out.writeShort(id).writeShort(flags).writeShort(qd).writeShort(an).writeShort(0).writeShort(ar);
  }

  /**
   * A name read by {@link #readName}, in a buffer reused from query to query (one per thread that answers).
   * Not thread-safe.
   */
  public static final class NameBuffer {
    final byte[] bytes = new byte[MAX_NAME + 2];
    int length;
    boolean plain;
  }
}
