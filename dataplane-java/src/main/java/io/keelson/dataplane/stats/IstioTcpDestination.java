package io.keelson.dataplane.stats;

import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * Istio's TCP metrics ({@code istio_tcp_*}) towards one cluster from one downstream peer certificate (inbound: the
 * caller's SPIFFE ID, which gives {@code source_principal}, {@code source_workload_namespace} and
 * {@code connection_security_policy="mutual_tls"}; null for none), with the same labels as
 * {@code istio_requests_total} and {@code request_protocol="tcp"}. Thread-safe.
 */
public final class IstioTcpDestination {
  final String cluster;
  final String peerPrincipal;
  /** Mutual TLS downstream: always when {@link #peerPrincipal} is set; alone, the overflow of mTLS peers. */
  final boolean mutualTls;
  public final LongAdder opened = new LongAdder();
  public final LongAdder closed = new LongAdder();
  /** Bytes sent towards the destination (read from the client). */
  public final LongAdder sentBytes = new LongAdder();
  /** Bytes received from the destination (written to the client). */
  public final LongAdder receivedBytes = new LongAdder();

  IstioTcpDestination(String cluster, String peerPrincipal) {
    this(cluster, peerPrincipal, peerPrincipal != null);
  }

  IstioTcpDestination(String cluster, String peerPrincipal, boolean mutualTls) {
    this.cluster = cluster;
    this.peerPrincipal = peerPrincipal;
    this.mutualTls = mutualTls;
  }

  static void writePrometheus(PrometheusWriter w, MeshIdentity me, Iterable<IstioTcpDestination> all) {
    String[][] metrics = {
      {"istio_tcp_sent_bytes_total", "0"},
      {"istio_tcp_received_bytes_total", "1"},
      {"istio_tcp_connections_opened_total", "2"},
      {"istio_tcp_connections_closed_total", "3"},
    };
    for (String[] m : metrics) {
      w.type(m[0], "counter");
      for (IstioTcpDestination d : all) {
        long v = switch (m[1]) {
          case "0" -> d.sentBytes.sum();
          case "1" -> d.receivedBytes.sum();
          case "2" -> d.opened.sum();
          default -> d.closed.sum();
        };
        w.sample(m[0], v, labels(me, d));
      }
    }
  }

  private static String[] labels(MeshIdentity me, IstioTcpDestination d) {
    IstioPeer peer = !d.mutualTls ? IstioPeer.UNKNOWN
        : new IstioPeer(MeshIdentity.UNKNOWN_IDENTITY, d.peerPrincipal, IstioPeer.MUTUAL_TLS);
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
