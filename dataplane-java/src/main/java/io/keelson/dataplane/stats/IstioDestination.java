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

  /** Label variants (a listener's metric overrides and a request's evaluated tags) kept apart per destination. */
  static final int MAX_VARIANTS = 1024;
  private static final int VARIANT_SLOTS = 2 * MAX_VARIANTS;
  /**
   * Variants of every view and key together (the key-0 ones of further views take the room above
   * {@link #MAX_VARIANTS}); at least one slot stays free, so a probe always ends.
   */
  static final int MAX_ALL_VARIANTS = VARIANT_SLOTS - 1;

  final String cluster;
  /** The overrides this variant's series are reported with; null for the destination itself. */
  final IstioMetricsConfig view;
  /** The evaluated tags ({@link IstioMetricsConfig#key}); 0 for the destination itself. */
  final long key;
  private final int keepMask;
  private final AtomicReferenceArray<PeerSeries> peers = new AtomicReferenceArray<>(MAX_PEERS + ATTRIBUTE_SETS);
  /** Open-addressed by (view, key); allocated on the first overridden request. */
  private volatile AtomicReferenceArray<IstioDestination> variants;
  private final java.util.concurrent.atomic.AtomicInteger variantCount = new java.util.concurrent.atomic.AtomicInteger();

  IstioDestination(String cluster) {
    this(cluster, null, 0);
  }

  private IstioDestination(String cluster, IstioMetricsConfig view, long key) {
    this.cluster = cluster;
    this.view = view;
    this.key = key;
    this.keepMask = view == null ? -1 : view.keepMask;
  }

  /**
   * One finished request through a connection manager with metric overrides {@code view} (null: none) and the
   * request's evaluated tags {@code key}: its dropped metrics are not recorded, the others go to the series of its
   * label variant (at most {@link #MAX_VARIANTS} per destination; further ones share the variant whose evaluated tags
   * are all unknown; past {@link #MAX_ALL_VARIANTS} variants of all views together the request is not recorded).
   */
  public void record(IstioMetricsConfig view, long key, MeshIdentity peer, String certPrincipal, int attributes,
      int status, int grpcStatus, ResponseFlag flag, long durationNanos, long requestBytes, long responseBytes) {
    if (view == null) {
      record(peer, certPrincipal, attributes, status, grpcStatus, flag, durationNanos, requestBytes, responseBytes);
    } else if (!view.dropsAll()) {
      IstioDestination v = variant(view, key);
      if (v != null) {
        v.record(peer, certPrincipal, attributes, status, grpcStatus, flag, durationNanos, requestBytes, responseBytes);
      }
    }
  }

  /**
   * The variant of (view, key); past {@link #MAX_VARIANTS} a new key shares its view's key-0 variant, and past
   * {@link #MAX_ALL_VARIANTS} (every view and key counted) null: the sample is dropped. Never recurses.
   */
  private IstioDestination variant(IstioMetricsConfig view, long key) {
    AtomicReferenceArray<IstioDestination> table = variants;
    if (table == null) {
      synchronized (this) {
        table = variants;
        if (table == null) {
          table = new AtomicReferenceArray<>(VARIANT_SLOTS);
          variants = table;
        }
      }
    }
    IstioDestination v = find(table, view, key, key == 0 ? MAX_ALL_VARIANTS : MAX_VARIANTS);
    return v != null || key == 0 ? v : find(table, view, 0, MAX_ALL_VARIANTS);
  }

  /** Looks (view, key) up, adding it while fewer than {@code cap} variants exist; null when absent and full. */
  private IstioDestination find(AtomicReferenceArray<IstioDestination> table, IstioMetricsConfig view, long key,
      int cap) {
    int h = (System.identityHashCode(view) * 31 + Long.hashCode(key * 0x9E3779B97F4A7C15L)) & (VARIANT_SLOTS - 1);
    for (int i = 0; i < VARIANT_SLOTS; i++) {
      int slot = (h + i) & (VARIANT_SLOTS - 1);
      IstioDestination v = table.get(slot);
      if (v == null) {
        if (variantCount.incrementAndGet() > cap) {
          variantCount.decrementAndGet();
          return null;
        }
        IstioDestination fresh = new IstioDestination(cluster, view, key);
        v = table.compareAndExchange(slot, null, fresh);
        if (v == null) {
          return fresh;
        }
        variantCount.decrementAndGet();
      }
      if (v.view == view && v.key == key) {
        return v;
      }
    }
    return null;
  }

  /** This destination's label variants (none for a variant). */
  List<IstioDestination> variants() {
    AtomicReferenceArray<IstioDestination> table = variants;
    List<IstioDestination> out = new ArrayList<>();
    for (int i = 0; table != null && i < table.length(); i++) {
      IstioDestination v = table.get(i);
      if (v != null) {
        out.add(v);
      }
    }
    return out;
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
    x.record(keepMask, durationNanos, requestBytes, responseBytes);
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
