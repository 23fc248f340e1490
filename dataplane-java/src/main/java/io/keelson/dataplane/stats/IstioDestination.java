package io.keelson.dataplane.stats;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Istio request metrics towards one destination (an upstream cluster, or "unknown" when no cluster was chosen). A
 * destination has up to {@link #MAX_PEERS} peers (the other side's workload, as the metadata exchange and the peer
 * certificate name it, with the request's protocol and TLS mode); a further peer is counted as an unknown one with
 * the same protocol and TLS mode (one overflow peer per attribute set), so a destination's series stay bounded. Per peer, series are slots indexed by (status, gRPC status, flag): a lookup is a
 * short scan of the peers by equality, then two array reads, and a slot is filled once with a CAS. A status's row is
 * allocated on its first request. Labels are derived at scrape time from the cluster name, the peer and the proxy's
 * {@link MeshIdentity}. Thread-safe.
 */
public final class IstioDestination {
  /** Peers kept apart per destination; the rest share an unknown peer. */
  static final int MAX_PEERS = 64;
  /** Overflow peers: one per {@link IstioPeer#MUTUAL_TLS} / {@link IstioPeer#GRPC} combination. */
  private static final int ATTRIBUTE_SETS = 4;
  private static final int MIN_STATUS = 100;
  private static final int STATUSES = 500; // 100..599; anything else lands on slot 0 (status 0 / 1xx)
  private static final int FLAGS = ResponseFlag.VALUES.length;
  /** gRPC status codes 0..16, plus "none" (slot 0). */
  private static final int GRPC_SLOTS = 18;

  final String cluster;
  private final AtomicReferenceArray<PeerSeries> peers = new AtomicReferenceArray<>(MAX_PEERS + ATTRIBUTE_SETS);

  IstioDestination(String cluster) {
    this.cluster = cluster;
  }

  /** One finished request with no peer known (a plain HTTP client, a local reply). */
  public void record(int status, ResponseFlag flag, long durationNanos, long requestBytes, long responseBytes) {
    record(MeshIdentity.UNKNOWN_IDENTITY, null, 0, status, -1, flag, durationNanos, requestBytes, responseBytes);
  }

  /**
   * One finished request. Called from event loops; allocates only on a label set's first request.
   *
   * @param peer          the other side's exchanged metadata ({@link MeshIdentity#UNKNOWN_IDENTITY} for none)
   * @param certPrincipal the downstream peer certificate's SPIFFE ID, or null
   * @param attributes    {@link IstioPeer#MUTUAL_TLS} and {@link IstioPeer#GRPC} bits
   * @param grpcStatus    the response's grpc-status, or -1 for none
   */
  public void record(MeshIdentity peer, String certPrincipal, int attributes, int status, int grpcStatus,
      ResponseFlag flag, long durationNanos, long requestBytes, long responseBytes) {
    PeerSeries p = peer(peer, certPrincipal, attributes);
    int s = status >= MIN_STATUS && status < MIN_STATUS + STATUSES ? status - MIN_STATUS + 1 : 0;
    int g = grpcStatus >= 0 && grpcStatus < GRPC_SLOTS - 1 ? grpcStatus + 1 : 0;
    AtomicReferenceArray<IstioSeries> row = p.rows.get(s);
    if (row == null) {
      AtomicReferenceArray<IstioSeries> fresh = new AtomicReferenceArray<>(FLAGS * GRPC_SLOTS);
      row = p.rows.compareAndExchange(s, null, fresh);
      if (row == null) {
        row = fresh;
      }
    }
    int slot = g * FLAGS + flag.ordinal();
    IstioSeries x = row.get(slot);
    if (x == null) {
      IstioSeries fresh = new IstioSeries(p.peer, s == 0 ? 0 : status, g - 1, flag);
      x = row.compareAndExchange(slot, null, fresh);
      if (x == null) {
        x = fresh;
      }
    }
    x.record(durationNanos, requestBytes, responseBytes);
  }

  private PeerSeries peer(MeshIdentity id, String principal, int attrs) {
    for (int i = 0; i < MAX_PEERS; i++) {
      PeerSeries p = peers.get(i);
      if (p == null) {
        PeerSeries fresh = new PeerSeries(new IstioPeer(id, principal, attrs));
        p = peers.compareAndExchange(i, null, fresh);
        if (p == null) {
          return fresh;
        }
      }
      if (p.peer.is(id, principal, attrs)) {
        return p;
      }
    }
    int o = MAX_PEERS + (attrs & (ATTRIBUTE_SETS - 1));
    PeerSeries overflow = peers.get(o);
    if (overflow == null) {
      PeerSeries fresh = new PeerSeries(IstioPeer.overflow(attrs));
      overflow = peers.compareAndExchange(o, null, fresh);
      if (overflow == null) {
        overflow = fresh;
      }
    }
    return overflow;
  }

  List<IstioSeries> series() {
    List<IstioSeries> out = new ArrayList<>();
    for (int p = 0; p < peers.length(); p++) {
      PeerSeries ps = peers.get(p);
      if (ps == null) {
        continue;
      }
      for (int r = 0; r < ps.rows.length(); r++) {
        AtomicReferenceArray<IstioSeries> row = ps.rows.get(r);
        for (int i = 0; row != null && i < row.length(); i++) {
          IstioSeries x = row.get(i);
          if (x != null) {
            out.add(x);
          }
        }
      }
    }
    return out;
  }

  /** One peer's series. Row 0: statuses outside 100..599; row s: status 99 + s. */
  private static final class PeerSeries {
    final IstioPeer peer;
    final AtomicReferenceArray<AtomicReferenceArray<IstioSeries>> rows = new AtomicReferenceArray<>(STATUSES + 1);

    PeerSeries(IstioPeer peer) {
      this.peer = peer;
    }
  }
}
