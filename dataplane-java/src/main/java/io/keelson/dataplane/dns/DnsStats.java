package io.keelson.dataplane.dns;

import io.keelson.dataplane.stats.StatsRegistry;
import java.util.concurrent.atomic.LongAdder;

/**
 * The DNS proxy's counters, {@code dns.*} on the admin {@code /stats} (and {@code /stats/prometheus}). Written by the
 * DNS event loop only; read by the admin.
 */
final class DnsStats {
  final LongAdder queriesUdp;
  final LongAdder queriesTcp;
  /** Answered from the name table with addresses. */
  final LongAdder answered;
  /** A mesh name without an address of the asked type: NOERROR, no answer. */
  final LongAdder nodata;
  /** A name under a mesh zone that is not in the table. */
  final LongAdder nxdomain;
  final LongAdder forwarded;
  final LongAdder upstreamResponses;
  final LongAdder upstreamTimeouts;
  /** Queries from TCP clients asked again over TCP because the upstream's UDP answer was truncated. */
  final LongAdder upstreamTcp;
  /** A datagram on the upstream socket that answers no pending query (late, spoofed or from elsewhere). */
  final LongAdder upstreamUnexpected;
  final LongAdder servfail;
  /** Malformed queries answered FORMERR. */
  final LongAdder formerr;
  /** Queries dropped unanswered: shorter than a header, or a response. */
  final LongAdder dropped;
  final LongAdder notimp;
  /** Forwarded queries refused because {@link DnsConfig#maxPending} were waiting (answered SERVFAIL). */
  final LongAdder overflow;
  final LongAdder tcpRejected;
  /** Mesh answers cut to the client's UDP size (TC set). */
  final LongAdder truncated;
  /** Queries of an EDNS version other than 0 (RFC 6891 BADVERS). */
  final LongAdder badvers;
  /** Forwarded-kind queries answered from the {@link DnsCache}, and those it had no answer for. */
  final LongAdder cacheHit;
  final LongAdder cacheMiss;
  /** Answers the cache dropped, least recently used, to stay within its size. */
  final LongAdder cacheEvicted;
  final java.util.concurrent.atomic.AtomicLong cacheEntries;

  DnsStats(StatsRegistry stats) {
    queriesUdp = stats.counter("dns.queries_udp");
    queriesTcp = stats.counter("dns.queries_tcp");
    answered = stats.counter("dns.answered");
    nodata = stats.counter("dns.nodata");
    nxdomain = stats.counter("dns.nxdomain");
    forwarded = stats.counter("dns.forwarded");
    upstreamResponses = stats.counter("dns.upstream_responses");
    upstreamTimeouts = stats.counter("dns.upstream_timeouts");
    upstreamTcp = stats.counter("dns.upstream_tcp");
    upstreamUnexpected = stats.counter("dns.upstream_unexpected");
    servfail = stats.counter("dns.servfail");
    formerr = stats.counter("dns.formerr");
    dropped = stats.counter("dns.dropped");
    notimp = stats.counter("dns.notimp");
    overflow = stats.counter("dns.overflow");
    tcpRejected = stats.counter("dns.tcp_rejected");
    truncated = stats.counter("dns.truncated");
    badvers = stats.counter("dns.badvers");
    cacheHit = stats.counter("dns.cache_hit");
    cacheMiss = stats.counter("dns.cache_miss");
    cacheEvicted = stats.counter("dns.cache_evicted");
    cacheEntries = stats.gauge("dns.cache_entries");
  }

  void count(DnsAnswerer.Outcome outcome) {
    switch (outcome) {
      case ANSWERED -> answered.increment();
      case TRUNCATED -> {
        answered.increment();
        truncated.increment();
      }
      case BADVERS -> badvers.increment();
      case NODATA -> nodata.increment();
      case NXDOMAIN -> nxdomain.increment();
      case FORWARD -> forwarded.increment();
      case FORMERR -> formerr.increment();
      case NOTIMP -> notimp.increment();
      case DROP -> dropped.increment();
    }
  }
}
