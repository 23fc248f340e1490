package io.keelson.dataplane.stats;

import io.keelson.dataplane.stats.IstioMetricsConfig.Metric;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders Istio's standard request metrics with Istio's label set. Istio cluster names
 * ({@code outbound|port|subset|host}, {@code inbound|port||}) give the reporter and destination
 * service; any other cluster name is taken as the destination service name. A destination's label variants
 * ({@link IstioMetricsConfig}) are reported with their overrides, and equal label sets merged. Not thread-safe; one per scrape.
 */
final class IstioWriter {
  private IstioWriter() {}

  static void write(PrometheusWriter w, MeshIdentity me, Collection<IstioDestination> destinations) {
    List<IstioDestination> all = new ArrayList<>();
    for (IstioDestination d : destinations) {
      all.add(d);
      all.addAll(d.variants());
    }
    List<IstioDestination> owners = new ArrayList<>();
    List<String[]> labelSets = new ArrayList<>();
    List<IstioSeries> series = new ArrayList<>();
    for (IstioDestination d : all) {
      Map<IstioPeer, String[]> bases = new IdentityHashMap<>();
      for (IstioSeries s : d.series()) {
        String[] base = bases.computeIfAbsent(s.peer, p -> destinationLabels(me, d.cluster, p));
        owners.add(d);
        labelSets.add(withResponse(base, s));
        series.add(s);
      }
    }
    Map<List<String>, List<IstioSeries>> requests = merged(Metric.REQUESTS, owners, labelSets, series);
    w.type("istio_requests_total", "counter");
    requests.forEach((labels, same) -> {
      long n = 0;
      for (IstioSeries s : same) {
        n += s.count.sum();
      }
      w.sample("istio_requests_total", n, labels.toArray(new String[0]));
    });
    histogram(w, "istio_request_duration_milliseconds", IstioSeries.DURATION_MS,
        merged(Metric.DURATION, owners, labelSets, series), 0);
    histogram(w, "istio_request_bytes", IstioSeries.BYTES, merged(Metric.REQUEST_BYTES, owners, labelSets, series), 1);
    histogram(w, "istio_response_bytes", IstioSeries.BYTES, merged(Metric.RESPONSE_BYTES, owners, labelSets, series), 2);
  }

  /**
   * The series metric {@code m} reports, by their label set as the overrides of their destination variant make it
   * (dropped metrics left out); series whose labels became equal (a removed tag) are reported as one, as Istio does.
   */
  private static Map<List<String>, List<IstioSeries>> merged(Metric m, List<IstioDestination> owners,
      List<String[]> labelSets, List<IstioSeries> series) {
    Map<List<String>, List<IstioSeries>> out = new LinkedHashMap<>();
    for (int i = 0; i < series.size(); i++) {
      IstioDestination d = owners.get(i);
      if (d.view != null && !d.view.keeps(m)) {
        continue;
      }
      String[] labels = d.view == null ? labelSets.get(i) : d.view.labels(m, labelSets.get(i), d.key);
      out.computeIfAbsent(Arrays.asList(labels), k -> new ArrayList<>()).add(series.get(i));
    }
    return out;
  }

  private static void histogram(PrometheusWriter w, String name, double[] bounds, Map<List<String>, List<IstioSeries>> merged,
      int which) {
    w.type(name, "histogram");
    merged.forEach((labelList, same) -> {
      String[] labels = labelList.toArray(new String[0]);
      String[] withLe = Arrays.copyOf(labels, labels.length + 2);
      withLe[labels.length] = "le";
      long cumulative = 0;
      for (int b = 0; b <= bounds.length; b++) {
        for (IstioSeries s : same) {
          cumulative += buckets(s, which)[b].sum();
        }
        withLe[labels.length + 1] = b < bounds.length ? PrometheusWriter.formatDouble(bounds[b]) : "+Inf";
        w.sample(name + "_bucket", cumulative, withLe);
      }
      long sum = 0;
      for (IstioSeries s : same) {
        sum += switch (which) {
          case 0 -> s.durationMicros.sum();
          case 1 -> s.requestBytesSum.sum();
          default -> s.responseBytesSum.sum();
        };
      }
      w.sampleRaw(name + "_sum", which == 0 ? PrometheusWriter.formatDouble(sum / 1000.0) : Long.toString(sum), labels);
      // the count is the +Inf bucket, so _count and _bucket{le="+Inf"} always agree within one scrape
      w.sample(name + "_count", cumulative, labels);
    });
  }

  private static java.util.concurrent.atomic.LongAdder[] buckets(IstioSeries s, int which) {
    return switch (which) {
      case 0 -> s.duration;
      case 1 -> s.requestBytes;
      default -> s.responseBytes;
    };
  }

  private static String[] withResponse(String[] base, IstioSeries s) {
    String[] l = Arrays.copyOf(base, base.length + 6);
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
      "source_cluster", src.cluster(),
      "destination_workload", dst.workload(),
      "destination_workload_namespace", dst.namespace(),
      "destination_principal", dst.principal(),
      "destination_app", dst.app(),
      "destination_version", dst.version(),
      "destination_service", service,
      "destination_service_name", serviceName,
      "destination_service_namespace", serviceNamespace,
      "destination_cluster", dst.cluster(),
      "request_protocol", (peer.attributes() & IstioPeer.GRPC) != 0 ? "grpc" : "http",
      // As Istio: the outbound reporter does not say; the inbound one says what the downstream connection was.
      "connection_security_policy", !inbound ? "unknown" : (peer.attributes() & IstioPeer.MUTUAL_TLS) != 0 ? "mutual_tls" : "none",
    };
  }
}
