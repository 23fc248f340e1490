package io.keelson.dataplane.stats;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Istio's TCP metrics ({@code istio_tcp_*}) towards one cluster from one downstream peer certificate (inbound: the
 * caller's SPIFFE ID, which gives {@code source_principal}, {@code source_workload_namespace} and
 * {@code connection_security_policy="mutual_tls"}; null for none) and, when Istio's TCP metadata exchange named it,
 * the workload at the other end ({@link #peer}: inbound the source, outbound the destination), with the same labels
 * as {@code istio_requests_total} and {@code request_protocol="tcp"}. Thread-safe.
 */
public final class IstioTcpDestination {
  final String cluster;
  final String peerPrincipal;
  /** The tcp_proxy's metric overrides (its dropped metrics are not reported), or null for none. */
  final IstioMetricsConfig view;
  /** Mutual TLS downstream: always when {@link #peerPrincipal} is set; alone, the overflow of mTLS peers. */
  final boolean mutualTls;
  /** The workload the TCP metadata exchange named at the other end, or null when none was exchanged. */
  final MeshIdentity peer;
  public final LongAdder opened = new LongAdder();
  public final LongAdder closed = new LongAdder();
  /**
   * Bytes read from the downstream and sent towards the upstream: the request direction, Istio's
   * {@code istio_tcp_received_bytes_total} ("bytes received during request").
   */
  public final LongAdder toUpstreamBytes = new LongAdder();
  /**
   * Bytes received from the upstream and written to the downstream: the response direction, Istio's
   * {@code istio_tcp_sent_bytes_total} ("bytes sent during response").
   */
  public final LongAdder toDownstreamBytes = new LongAdder();

  IstioTcpDestination(String cluster, String peerPrincipal) {
    this(cluster, peerPrincipal, null);
  }

  IstioTcpDestination(String cluster, String peerPrincipal, IstioMetricsConfig view) {
    this(cluster, peerPrincipal, view, peerPrincipal != null);
  }

  IstioTcpDestination(String cluster, String peerPrincipal, IstioMetricsConfig view, boolean mutualTls) {
    this(cluster, peerPrincipal, view, mutualTls, null);
  }

  IstioTcpDestination(String cluster, String peerPrincipal, IstioMetricsConfig view, boolean mutualTls, MeshIdentity peer) {
    this.peer = peer;
    this.cluster = cluster;
    this.peerPrincipal = peerPrincipal;
    this.view = view;
    this.mutualTls = mutualTls;
  }

  static void writePrometheus(PrometheusWriter w, MeshIdentity me, Iterable<IstioTcpDestination> all) {
    IstioMetricsConfig.Metric[] metrics = {IstioMetricsConfig.Metric.TCP_SENT, IstioMetricsConfig.Metric.TCP_RECEIVED,
        IstioMetricsConfig.Metric.TCP_OPENED, IstioMetricsConfig.Metric.TCP_CLOSED};
    for (IstioMetricsConfig.Metric m : metrics) {
      String name = "istio_" + m.configName;
      w.type(name, "counter");
      // series whose labels became equal (a removed tag) are reported as one, as Istio does
      Map<List<String>, Long> merged = new LinkedHashMap<>();
      for (IstioTcpDestination d : all) {
        if (d.view != null && !d.view.keeps(m)) {
          continue;
        }
        long v = switch (m) {
          case TCP_SENT -> d.toDownstreamBytes.sum();
          case TCP_RECEIVED -> d.toUpstreamBytes.sum();
          case TCP_OPENED -> d.opened.sum();
          default -> d.closed.sum();
        };
        String[] labels = labels(me, d);
        merged.merge(Arrays.asList(d.view == null ? labels : d.view.labels(m, labels, 0)), v, Long::sum);
      }
      merged.forEach((labels, v) -> w.sample(name, v, labels.toArray(new String[0])));
    }
  }

  private static String[] labels(MeshIdentity me, IstioTcpDestination d) {
    IstioPeer peer = !d.mutualTls && d.peer == null ? IstioPeer.UNKNOWN
        : new IstioPeer(d.peer == null ? MeshIdentity.UNKNOWN_IDENTITY : d.peer, d.peerPrincipal,
            d.mutualTls ? IstioPeer.MUTUAL_TLS : 0);
    String[] base = IstioWriter.destinationLabels(me, d.cluster, peer);
    for (int i = 0; i < base.length; i += 2) {
      if (base[i].equals("request_protocol")) {
        base[i + 1] = "tcp";
      }
    }
    String[] l = Arrays.copyOf(base, base.length + 2);
    l[base.length] = "response_flags";
    l[base.length + 1] = "-";
    return l;
  }
}
