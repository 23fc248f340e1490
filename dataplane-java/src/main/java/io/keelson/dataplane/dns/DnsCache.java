package io.keelson.dataplane.dns;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Upstream answers kept for the queries that follow, as a resolver keeps them: keyed by the question's name (lower
 * case), type and class and the query bits that change the answer ({@link DnsAnswerer#cacheFlags}: RD, CD, AD, EDNS,
 * DO);
 * a positive answer kept for the least TTL of its records, a negative one (NXDOMAIN, or NOERROR without answers) for
 * its SOA's negative TTL, min(SOA TTL, SOA MINIMUM) (RFC 2308 5), and not at all without an SOA; both capped. Not
 * kept: truncated answers, other RCODEs, answers whose question is not the one forwarded byte for byte (name case
 * included), answers over {@link #MAX_MESSAGE} bytes, answers over {@link Edns#PAYLOAD_SIZE} bytes to a UDP query
 * (never served to a UDP client), answers to queries with an EDNS client subnet option, names with a dot or an
 * unprintable byte inside a label. An answer's OPT record is kept as the proxy's own ({@link Edns#writeOptFrom}: no
 * options, so one client's cookie or subnet is never replayed to another). At most {@code maxEntries} answers, the
 * least recently used evicted first.
 *
 * <p>A hit is the kept answer with the query's ID and its question as asked (case kept: 0x20 randomisation), every TTL
 * (OPT aside) less the whole seconds it has been kept. A UDP client that takes fewer bytes than the kept answer has is
 * a miss (the upstream truncates for it).
 *
 * <p>Keys are looked up through one reused probe: nothing is allocated on a hit but the answer's buffer. Confined to
 * the DNS event loop.
 */
final class DnsCache {
  /** The largest answer kept: bounds the memory to about {@code maxEntries} × 4 KB. */
  static final int MAX_MESSAGE = 4096;
  /** A key: flags (1), type (2), class (2), name (up to 253). */
  static final int MAX_KEY = 5 + DnsWire.MAX_NAME;

  private final int maxEntries;
  private final long maxTtl;
  private final long maxNegativeTtl;
  private final LongSupplier nanoClock;
  private final DnsStats stats;
  private final Key probe = new Key(new byte[MAX_KEY], 0);
  private final LinkedHashMap<Key, Kept> entries;

  /** A kept answer: its bytes, when it was kept and until when, where its TTLs are and what they said. */
  private record Kept(byte[] message, long storedNanos, long expiresNanos, int[] ttlOffsets, int[] ttls) {}

  /** A cache key's bytes; the probe's are overwritten per query, a stored key's are its own. */
  static final class Key {
    final byte[] bytes;
    int length;
    private int hash;

    Key(byte[] bytes, int length) {
      this.bytes = bytes;
      this.length = length;
      rehash();
    }

    private void rehash() {
      int h = 0x811C9DC5;
      for (int i = 0; i < length; i++) {
        h = (h ^ bytes[i]) * 0x01000193;
      }
      hash = h;
    }

    /** Sets this key to {@code flags}, {@code qtype}, {@code qclass} and {@code name}. */
    void set(int flags, int qtype, int qclass, DnsWire.NameBuffer name) {
      bytes[0] = (byte) flags;
      bytes[1] = (byte) (qtype >> 8);
      bytes[2] = (byte) qtype;
      bytes[3] = (byte) (qclass >> 8);
      bytes[4] = (byte) qclass;
      System.arraycopy(name.bytes, 0, bytes, 5, name.length);
      length = 5 + name.length;
      rehash();
    }

    void copyFrom(Key other) {
      System.arraycopy(other.bytes, 0, bytes, 0, other.length);
      length = other.length;
      hash = other.hash;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && Arrays.equals(bytes, 0, length, k.bytes, 0, k.length);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  /**
   * @param maxEntries     answers kept at most (0: none)
   * @param maxTtlSeconds  the longest a positive answer is kept
   * @param maxNegativeTtlSeconds the longest a negative answer is kept
   * @param nanoClock      {@link System#nanoTime}, or a test's clock
   */
  DnsCache(int maxEntries, long maxTtlSeconds, long maxNegativeTtlSeconds, LongSupplier nanoClock, DnsStats stats) {
    this.maxEntries = maxEntries;
    this.maxTtl = maxTtlSeconds;
    this.maxNegativeTtl = maxNegativeTtlSeconds;
    this.nanoClock = nanoClock;
    this.stats = stats;
    this.entries = new LinkedHashMap<>(16, 0.75f, true) { // access order: the eldest is the least recently used
      @Override
      protected boolean removeEldestEntry(Map.Entry<Key, Kept> eldest) {
        if (size() > DnsCache.this.maxEntries) {
          stats.cacheEvicted.increment();
          return true;
        }
        return false;
      }
    };
  }

  /**
   * Points the probe at the query {@code answerer} just parsed (it said FORWARD), and answers it from the cache.
   *
   * @param udpLimit the most bytes the client takes ({@link Edns#udpLimit}, or 65,535 over TCP)
   * @return the answer (the caller writes it; released by the write), or null on a miss, when the query is to go
   *     upstream with {@link #probe()} as its key
   */
  ByteBuf answer(ByteBuf query, DnsAnswerer answerer, int udpLimit, io.netty.buffer.ByteBufAllocator alloc) {
    if (maxEntries == 0 || !answerer.name.plain || answerer.edns.clientSubnet) {
      probe.length = 0; // not to be kept
      return null;
    }
    probe.set(answerer.cacheFlags(query), answerer.qtype, answerer.qclass, answerer.name);
    Kept e = entries.get(probe);
    long now = nanoClock.getAsLong();
    if (e != null && now - e.expiresNanos >= 0) {
      entries.remove(probe);
      stats.cacheEntries.set(entries.size());
      e = null;
    }
    if (e == null || e.message.length > udpLimit) {
      stats.cacheMiss.increment();
      return null;
    }
    stats.cacheHit.increment();
    ByteBuf out = alloc.buffer(e.message.length).writeBytes(e.message);
    out.setShort(DnsWire.ID_OFFSET, DnsWire.id(query));
    int questionName = query.readerIndex() + DnsWire.HEADER_SIZE;
    out.setBytes(DnsWire.HEADER_SIZE, query, questionName, answerer.name.length + (answerer.name.length == 0 ? 1 : 2));
    long age = TimeUnit.NANOSECONDS.toSeconds(now - e.storedNanos);
    for (int i = 0; i < e.ttlOffsets.length; i++) {
      out.setInt(e.ttlOffsets[i], (int) Math.max(0, e.ttls[i] - age));
    }
    return out;
  }

  /** The key of the last query {@link #answer} missed; length 0 when its answer is not to be kept. */
  Key probe() {
    return probe;
  }

  /**
   * Keeps {@code response} (the upstream's answer to {@code query}, forwarded under {@code key}; read, not released)
   * when it may be. {@code tcp}: the query came over TCP (an answer of any size may be served to it).
   */
  void store(Key key, ByteBuf query, ByteBuf response, boolean tcp) {
    if (key.length == 0 || response.readableBytes() > MAX_MESSAGE) {
      return;
    }
    int start = response.readerIndex();
    int flags = DnsWire.flags(response);
    int rcode = flags & DnsWire.RCODE_MASK;
    if ((flags & DnsWire.FLAG_TC) != 0 || (rcode != DnsWire.RCODE_NOERROR && rcode != DnsWire.RCODE_NXDOMAIN)) {
      return;
    }
    int questionEnd = DnsWire.sameQuestion(query, response);
    if (questionEnd < 0) {
      return;
    }
    int answers = DnsWire.count(response, DnsWire.ANCOUNT_OFFSET);
    int records = answers + DnsWire.count(response, DnsWire.NSCOUNT_OFFSET)
        + DnsWire.count(response, DnsWire.ARCOUNT_OFFSET);
    int[] ttlOffsets = new int[records];
    int[] ttls = new int[records];
    int kept = 0;
    long positiveTtl = Long.MAX_VALUE;
    long negativeTtl = -1;
    int optAt = -1;
    int optFixed = -1;
    int optEnd = -1;
    int at = questionEnd;
    for (int i = 0; i < records; i++) {
      int fixed = DnsWire.skipName(response, at);
      int next = DnsWire.skipRecord(response, at);
      if (next < 0) {
        return; // malformed: not kept
      }
      int type = response.getUnsignedShort(fixed);
      if (type != DnsWire.TYPE_OPT) {
        int ttl = Math.max(0, response.getInt(fixed + 4)); // RFC 2181 8: a TTL with the top bit set is 0
        ttlOffsets[kept] = fixed + 4 - start;
        ttls[kept++] = ttl;
        positiveTtl = Math.min(positiveTtl, ttl);
        if (type == DnsWire.TYPE_SOA && i >= answers && i < records - DnsWire.count(response, DnsWire.ARCOUNT_OFFSET)
            && next - (fixed + 10) >= 22) {
          negativeTtl = Math.min(ttl, response.getUnsignedInt(next - 4)); // SOA MINIMUM: its rdata's last field
        }
      } else if (optAt < 0) {
        optAt = at;
        optFixed = fixed;
        optEnd = next;
      }
      at = next;
    }
    long seconds = answers > 0 && rcode == DnsWire.RCODE_NOERROR ? Math.min(positiveTtl, maxTtl)
        : Math.min(negativeTtl, maxNegativeTtl);
    if (seconds <= 0) {
      return; // TTL 0, or a negative answer without an SOA (RFC 2308 5: not cached)
    }
    byte[] message = optAt < 0 ? ByteBufUtil.getBytes(response) : withOwnOpt(response, optAt, optFixed, optEnd);
    if (optAt >= 0) { // records after the OPT moved with it
      int shift = (optEnd - optAt) - Edns.OPT_SIZE;
      for (int i = 0; i < kept; i++) {
        ttlOffsets[i] -= ttlOffsets[i] > optAt - start ? shift : 0;
      }
    }
    if (!tcp && message.length > Edns.PAYLOAD_SIZE) {
      return; // a UDP client never takes it from the cache
    }
    long now = nanoClock.getAsLong();
    Key stored = new Key(new byte[key.length], 0);
    stored.copyFrom(key);
    entries.put(stored, new Kept(message, now, now + TimeUnit.SECONDS.toNanos(seconds),
        Arrays.copyOf(ttlOffsets, kept), Arrays.copyOf(ttls, kept)));
    stats.cacheEntries.set(entries.size());
  }

  /** {@code response}'s bytes with its OPT record ({@code [optAt, optEnd)}, absolute) replaced by the proxy's. */
  private static byte[] withOwnOpt(ByteBuf response, int optAt, int optFixed, int optEnd) {
    ByteBuf out = Unpooled.buffer(response.readableBytes());
    out.writeBytes(response, response.readerIndex(), optAt - response.readerIndex());
    Edns.writeOptFrom(out, response, optFixed);
    out.writeBytes(response, optEnd, response.writerIndex() - optEnd);
    return ByteBufUtil.getBytes(out);
  }

  int size() {
    return entries.size();
  }
}
