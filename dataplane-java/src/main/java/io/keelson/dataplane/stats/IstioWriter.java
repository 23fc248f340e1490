package io.keelson.dataplane.stats;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Renders Istio's standard request metrics with Istio's label set. Istio cluster names
 * ({@code outbound|port|subset|host}, {@code inbound|port||}) give the reporter and destination
 * service; any other cluster name is taken as the destination service name. Not thread-safe; one per scrape.
 */
final class IstioWriter {
  private IstioWriter() {}

  static void write(PrometheusWriter w, MeshIdentity me, Collection<IstioDestination> destinations) {
    List<String[]> labelSets = new ArrayList<>();
    List<IstioSeries> series = new ArrayList<>();
    for (IstioDestination d : destinations) {
      java.util.Map<IstioPeer, String[]> bases = new java.util.IdentityHashMap<>();
      for (IstioSeries s : d.series()) {
        String[] base = bases.computeIfAbsent(s.peer, p -> destinationLabels(me, d.cluster, p));
        labelSets.add(withResponse(base, s));
        series.add(s);
      }
    }
    w.type("istio_requests_total", "counter");
    for (int i = 0; i < series.size(); i++) {
      w.sample("istio_requests_total", series.get(i).count.sum(), labelSets.get(i));
    }
    histogram(w, "istio_request_duration_milliseconds", IstioSeries.DURATION_MS, series, labelSets, 0);
    histogram(w, "istio_request_bytes", IstioSeries.BYTES, series, labelSets, 1);
    histogram(w, "istio_response_bytes", IstioSeries.BYTES, series, labelSets, 2);
  }

  private static void histogram(
      PrometheusWriter w, String name, double[] bounds, List<IstioSeries> series, List<String[]> labelSets, int which) {
    w.type(name, "histogram");
    for (int i = 0; i < series.size(); i++) {
      IstioSeries s = series.get(i);
      var buckets = switch (which) {
        case 0 -> s.duration;
        case 1 -> s.requestBytes;
        default -> s.responseBytes;
      };
      String[] labels = labelSets.get(i);
      String[] withLe = java.util.Arrays.copyOf(labels, labels.length + 2);
      withLe[labels.length] = "le";
      long cumulative = 0;
      for (int b = 0; b < buckets.length; b++) {
        cumulative += buckets[b].sum();
        withLe[labels.length + 1] = b < bounds.length ? PrometheusWriter.formatDouble(bounds[b]) : "+Inf";
        w.sample(name + "_bucket", cumulative, withLe);
      }
      String sum = switch (which) {
        case 0 -> PrometheusWriter.formatDouble(s.durationMicros.sum() / 1000.0);
        case 1 -> Long.toString(s.requestBytesSum.sum());
        default -> Long.toString(s.responseBytesSum.sum());
      };
      w.sampleRaw(name + "_sum", sum, labels);
      // the count is the +Inf bucket, so _count and _bucket{le="+Inf"} always agree within one scrape
      w.sample(name + "_count", cumulative, labels);
    }
  }

  private static String[] withResponse(String[] base, IstioSeries s) {
    String[] l = java.util.Arrays.copyOf(base, base.length + 6);
    int i = base.length;
    l[i] = "response_code";
    l[i + 1] = Integer.toString(s.status);
    l[i + 2] = "grpc_response_status";
    l[i + 3] = s.grpcStatus < 0 ? "" : Integer.toString(s.grpcStatus);
    l[i + 4] = "response_flags";
    l[i + 5] = s.flag.code;
    return l;
  }

  /** The labels that depend only on the proxy and the destination cluster (no peer known). */
  static String[] destinationLabels(MeshIdentity me, String cluster) {
    return destinationLabels(me, cluster, IstioPeer.UNKNOWN);
  }

  /**
   * The labels that depend on the proxy, the destination cluster and the peer: on the inbound reporter the peer is the
   * source, on the outbound one the destination workload.
   */
  static String[] destinationLabels(MeshIdentity me, String cluster, IstioPeer peer) {
    boolean inbound = cluster.startsWith("inbound|");
    String service = MeshIdentity.UNKNOWN;
    String serviceName = MeshIdentity.UNKNOWN;
    String serviceNamespace = MeshIdentity.UNKNOWN;
    if (cluster.startsWith("outbound|") || inbound) {
      String[] parts = cluster.split("\\|", -1);
      String host = parts.length >= 4 ? parts[3] : "";
      if (!host.isEmpty()) {
        service = host;
        String[] dns = host.split("\\.");
        serviceName = dns[0];
        if (dns.length > 1) {
          serviceNamespace = dns[1];
        }
      }
      if (inbound && serviceNamespace.equals(MeshIdentity.UNKNOWN)) {
        serviceNamespace = me.namespace();
      }
    } else if (!cluster.isEmpty() && !cluster.equals(MeshIdentity.UNKNOWN)) {
      service = cluster;
      serviceName = cluster;
    }
    MeshIdentity other = peer.labels();
    MeshIdentity src = inbound ? other : me;
    MeshIdentity dst = inbound ? me : other;
    return new String[] {
      "reporter", inbound ? "destination" : "source",
      "source_workload", src.workload(),
      "source_workload_namespace", src.namespace(),
      "source_principal", src.principal(),
      "source_app", src.app(),
      "source_version", src.version(),
      "destination_workload", dst.workload(),
      "destination_workload_namespace", dst.namespace(),
      "destination_principal", dst.principal(),
      "destination_app", dst.app(),
      "destination_version", dst.version(),
      "destination_service", service,
      "destination_service_name", serviceName,
      "destination_service_namespace", serviceNamespace,
      "destination_cluster", MeshIdentity.UNKNOWN,
      "request_protocol", (peer.attributes() & IstioPeer.GRPC) != 0 ? "grpc" : "http",
      // As Istio: the outbound reporter does not say; the inbound one says what the downstream connection was.
      "connection_security_policy", !inbound ? "unknown" : (peer.attributes() & IstioPeer.MUTUAL_TLS) != 0 ? "mutual_tls" : "none",
    };
  }
}
