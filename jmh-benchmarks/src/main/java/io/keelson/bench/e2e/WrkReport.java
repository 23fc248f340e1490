package io.keelson.bench.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Parses what wrk printed with the bench's Lua {@code done()} script (one marker line holding
 * JSON) into a {@link Measurement}. Stateless.
 */
final class WrkReport {
  static final String MARKER = "KEELSON_WRK_JSON ";
  private static final ObjectMapper JSON = new ObjectMapper();

  private WrkReport() {
  }

  /** @throws IllegalArgumentException naming what is missing when wrk's output has no usable report */
  static Measurement parse(String wrkOutput) {
    String line = wrkOutput.lines().filter(l -> l.startsWith(MARKER)).reduce((a, b) -> b)
      .orElseThrow(() -> new IllegalArgumentException("wrk printed no " + MARKER.strip()
        + " line (was it run with -s wrk-report.lua?); output was: " + abbreviate(wrkOutput)));
    JsonNode root;
    try {
      root = JSON.readTree(line.substring(MARKER.length()));
    } catch (Exception e) {
      throw new IllegalArgumentException("wrk's report line is not valid JSON: " + abbreviate(line), e);
    }
    long durationUs = required(root, "duration_us").asLong();
    long requests = required(root, "requests").asLong();
    JsonNode errors = required(root, "errors");
    long errorCount = 0;
    List<String> detail = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = errors.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      long n = e.getValue().asLong();
      errorCount += n;
      if (n > 0) {
        detail.add(e.getKey() + "=" + n);
      }
    }
    TreeMap<Double, Double> pct = new TreeMap<>();
    JsonNode percentiles = required(required(root, "latency_us"), "percentiles");
    for (Iterator<Map.Entry<String, JsonNode>> it = percentiles.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      pct.put(Double.parseDouble(e.getKey()), e.getValue().asDouble());
    }
    double seconds = durationUs / 1e6;
    // wrk counts non-2xx/3xx responses both as requests and as "status" errors: keep only the good ones as operations.
    long statusErrors = errors.path("status").asLong();
    long good = Math.max(0, requests - statusErrors);
    double goodRate = seconds > 0 ? good / seconds : 0;
    return new Measurement(goodRate, "requests/s", good, seconds, errorCount,
      String.join(" ", detail), pct);
  }

  private static JsonNode required(JsonNode node, String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      throw new IllegalArgumentException("wrk's report has no \"" + field + "\" field: " + abbreviate(node.toString()));
    }
    return v;
  }

  private static String abbreviate(String s) {
    String one = s.strip().replace('\n', ' ');
    return one.length() <= 300 ? one : one.substring(0, 300) + "...";
  }
}
