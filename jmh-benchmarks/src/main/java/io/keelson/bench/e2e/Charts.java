package io.keelson.bench.e2e;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToDoubleFunction;

/**
 * Draws the PNG charts with XChart (headless): requests/s and p99 per scenario and peer (bars), and
 * per scenario the latency percentile curve of each peer on HdrHistogram's log "nines" axis.
 * Stateless.
 */
final class Charts {
  private static final int WIDTH = 900;
  private static final int HEIGHT = 520;

  private Charts() {
  }

  /** Writes every chart into {@code dir} and returns the file names. */
  static List<String> write(List<ScenarioSummary> summaries, MachineInfo machine, Path dir) throws IOException {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
    List<String> files = new ArrayList<>();
    String subtitle = machine.nproc() + " CPUs, " + machine.cpuModel();
    List<ScenarioSummary> http = summaries.stream()
        .filter(s -> !s.peers().isEmpty() && s.unit().equals("requests/s")).toList();
    List<ScenarioSummary> packets = summaries.stream()
        .filter(s -> !s.peers().isEmpty() && s.unit().equals("packets/s")).toList();
    if (!http.isEmpty()) {
      files.add(save(bars(http, "Requests per second (median, higher is better)", "thousand requests/s",
          PeerSummary::ratePerSecond, 1e-3, subtitle), dir, "requests-per-second"));
      files.add(save(bars(http, "p99 latency (median, lower is better)", "p99 latency (ms)",
          PeerSummary::p99Us, 1e-3, subtitle), dir, "p99-latency"));
    }
    if (!packets.isEmpty()) {
      files.add(save(bars(packets, "Packets per second (median, higher is better)", "Mpps",
          PeerSummary::ratePerSecond, 1e-6, subtitle), dir, "packets-per-second"));
    }
    for (ScenarioSummary s : http) {
      XYChart curve = latencyCurve(s, subtitle);
      if (curve != null) {
        files.add(save(curve, dir, "latency-" + s.scenario()));
      }
    }
    return files;
  }

  static CategoryChart bars(List<ScenarioSummary> summaries, String title, String yTitle,
               ToDoubleFunction<PeerSummary> value, double scale, String subtitle) {
    CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT)
      .title(title + " — " + subtitle).xAxisTitle("scenario").yAxisTitle(yTitle).build();
    chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    chart.getStyler().setLabelsVisible(true);
    chart.getStyler().setLabelsRotation(0);
    chart.getStyler().setLabelsPosition(0.95);
    chart.getStyler().setChartTitleFont(chart.getStyler().getChartTitleFont().deriveFont(13f));
    chart.getStyler().setYAxisMin(0.0);
    chart.getStyler().setYAxisDecimalPattern("#,##0.##");
    List<String> scenarios = summaries.stream().map(ScenarioSummary::scenario).toList();
    Set<String> peers = new LinkedHashSet<>();
    summaries.forEach(s -> s.peers().forEach(p -> peers.add(p.peer())));
    for (String peer : peers) {
      List<Double> ys = new ArrayList<>();
      for (ScenarioSummary s : summaries) {
        PeerSummary p = ScenarioSummary.find(s.peers(), peer);
        double v = p == null ? Double.NaN : value.applyAsDouble(p) * scale;
        ys.add(Double.isNaN(v) ? null : v); // a failed peer draws no bar; the summary says why
      }
      boolean none = ys.stream().allMatch(java.util.Objects::isNull);
      chart.addSeries(none ? peer + " (failed)" : peer, scenarios, ys).setFillColor(color(peer));
    }
    return chart;
  }

  /** The percentile curve of each successful peer of one scenario, or null when none has latencies. */
  static XYChart latencyCurve(ScenarioSummary s, String subtitle) {
    XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT)
      .title("Latency by percentile, " + s.scenario() + " (median of runs) — " + subtitle)
      .xAxisTitle("percentile").yAxisTitle("latency (ms)").build();
    chart.getStyler().setChartTitleFont(chart.getStyler().getChartTitleFont().deriveFont(13f));
    chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNW);
    // x is the number of nines, drawn linearly: XChart's log axis ignores custom tick labels.
    chart.getStyler().setxAxisTickLabelsFormattingFunction(Charts::percentileLabel);
    chart.getStyler().setXAxisMin(0.0);
    chart.getStyler().setYAxisMin(0.0);
    boolean any = false;
    for (PeerSummary p : s.peers()) {
      List<Double> xs = new ArrayList<>();
      List<Double> ys = new ArrayList<>();
      for (Map.Entry<String, Double> e : p.latencyCurveUs().entrySet()) {
        double pct = PeerSummary.pct(e.getKey());
        if (pct >= 100 || pct < 1 || Double.isNaN(e.getValue())) {
          continue; // the log axis has no place for 100% (max)
        }
        xs.add(nines(pct));
        ys.add(e.getValue() / 1000);
      }
      if (xs.size() >= 2) {
        XYSeries series = chart.addSeries(p.peer(), xs, ys);
        series.setMarker(SeriesMarkers.CIRCLE);
        series.setLineColor(color(p.peer()));
        series.setMarkerColor(color(p.peer()));
        any = true;
      }
    }
    return any ? chart : null;
  }

  /** The same colour for a peer in every chart, so they read side by side. */
  static Color color(String peer) {
    return switch (peer) {
      case "direct" -> new Color(0x8c8c8c);
      case "keelson" -> new Color(0xd9480f);
      case "nginx" -> new Color(0x2b8a3e);
      case "haproxy" -> new Color(0x1c7ed6);
      default -> new Color(0x7048e8 + (peer.hashCode() & 0x3f3f3f));
    };
  }

  /** Percentile to its number of nines, log10(1/(1-p)): 90% -> 1, 99% -> 2, 99.9% -> 3 (HdrHistogram's axis). */
  static double nines(double percentile) {
    return Math.log10(1 / (1 - percentile / 100));
  }

  /** Tick label at whole numbers of nines ("99.9%"), none in between. */
  static String percentileLabel(double x) {
    if (Math.abs(x - Math.rint(x)) > 1e-9 || x < 0) {
      return "";
    }
    double pct = 100 * (1 - Math.pow(10, -Math.rint(x)));
    String s = String.format(Locale.ROOT, "%.6f", pct).replaceAll("0+$", "").replaceAll("\\.$", "");
    return s + "%";
  }

  private static String save(org.knowm.xchart.internal.chartpart.Chart<?, ?> chart, Path dir, String name)
    throws IOException {
    BitmapEncoder.saveBitmap(chart, dir.resolve(name).toString(), BitmapEncoder.BitmapFormat.PNG);
    return name + ".png";
  }
}
