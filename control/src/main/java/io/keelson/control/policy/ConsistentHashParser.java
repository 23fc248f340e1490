package io.keelson.control.policy;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A DestinationRule's {@code loadBalancer.consistentHash} (Istio's ConsistentHashLB): exactly one hash key
 * ({@code httpHeaderName}, {@code httpCookie}, {@code useSourceIp}, {@code httpQueryParameterName}) and the algorithm
 * ({@code ringHash.minimumRingSize}, the deprecated {@code minimumRingSize}, or {@code maglev.tableSize}, a prime as
 * Envoy requires). Stateless.
 */
final class ConsistentHashParser {
  /** Envoy's bounds: the ring at most 8M entries; Maglev's table a prime below 5,000,011. */
  private static final long MAX_RING = 8_388_608;
  private static final long MAX_TABLE = 5_000_011;

  private ConsistentHashParser() {}

  /** {@code loadBalancer}'s consistent hashing, or null when absent or wrong (reported). */
  static Policy.ConsistentHash consistentHash(Fields lb) {
    Fields h = lb.object("consistentHash", false);
    if (h == null) {
      return null;
    }
    if (lb.has("simple")) {
      lb.error("simple", "is set together with consistentHash; expected one of them (Istio's loadBalancer is one"
          + " policy)");
      return null;
    }
    h.allow(Set.of("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName", "ringHash", "maglev",
        "minimumRingSize"), Map.of());
    List<String> keys = new ArrayList<>();
    for (String k : List.of("httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName")) {
      if (h.has(k)) {
        keys.add(k);
      }
    }
    if (keys.isEmpty()) {
      lb.error("consistentHash", "needs a hash key; expected one of httpHeaderName, httpCookie, useSourceIp,"
          + " httpQueryParameterName");
      return null;
    }
    if (keys.size() > 1) {
      h.error(keys.get(1), "consistentHash takes one hash key, found " + String.join(" and ", keys)
          + "; expected one of them");
      return null;
    }
    Policy.HashSource source;
    String name = null;
    java.time.Duration ttl = null;
    String path = null;
    switch (keys.getFirst()) {
      case "httpHeaderName" -> {
        source = Policy.HashSource.HEADER;
        name = h.string("httpHeaderName", true);
        if (name != null) {
          name = name.toLowerCase(java.util.Locale.ROOT);
        }
      }
      case "httpQueryParameterName" -> {
        source = Policy.HashSource.QUERY_PARAMETER;
        name = h.string("httpQueryParameterName", true);
      }
      case "useSourceIp" -> {
        source = Policy.HashSource.SOURCE_IP;
        if (!Boolean.TRUE.equals(h.bool("useSourceIp"))) {
          h.error("useSourceIp", "is false, so nothing is hashed; expected true, or another hash key");
          return null;
        }
      }
      default -> {
        source = Policy.HashSource.COOKIE;
        Fields c = h.object("httpCookie", true);
        if (c == null) {
          return null;
        }
        c.allow(Set.of("name", "path", "ttl"), Map.of("attributes", "cookie attributes are not supported yet"));
        name = c.string("name", true);
        path = c.string("path", false);
        ttl = PolicyParser.duration(c, "ttl");
      }
    }
    if (name != null && name.isEmpty()) {
      h.error(keys.getFirst(), "is empty; expected a name");
      return null;
    }
    if (source != Policy.HashSource.SOURCE_IP && name == null) {
      return null;
    }
    int algorithms = (h.has("ringHash") ? 1 : 0) + (h.has("maglev") ? 1 : 0) + (h.has("minimumRingSize") ? 1 : 0);
    if (algorithms > 1) {
      h.error("maglev", "ringHash, maglev and minimumRingSize exclude each other; expected one of them");
      return null;
    }
    boolean maglev = false;
    Long size = null;
    if (h.has("maglev")) {
      Fields m = h.object("maglev", false);
      if (m == null) {
        return null;
      }
      m.allow("tableSize");
      maglev = true;
      size = positive(m, "tableSize", MAX_TABLE);
      if (size != null && !BigInteger.valueOf(size).isProbablePrime(30)) {
        m.error("tableSize", size + " is not a prime; Maglev's table size must be prime (e.g. 65537)");
        return null;
      }
    } else if (h.has("ringHash")) {
      Fields r = h.object("ringHash", false);
      if (r == null) {
        return null;
      }
      r.allow("minimumRingSize");
      size = positive(r, "minimumRingSize", MAX_RING);
    } else if (h.has("minimumRingSize")) {
      size = positive(h, "minimumRingSize", MAX_RING);
    }
    return new Policy.ConsistentHash(source, name, ttl, path, maglev, size);
  }

  /**
   * {@code loadBalancer}'s slow start: {@code warmupDurationSecs} (a duration, despite its name) or {@code warmup}
   * ({@code duration}, {@code minimumPercent}, {@code aggression}); null when absent or wrong (reported). Istio applies
   * it to ROUND_ROBIN and LEAST_REQUEST only, so it is refused with another policy.
   */
  static Policy.Warmup warmup(Fields lb) {
    if (!lb.has("warmupDurationSecs") && !lb.has("warmup")) {
      return null;
    }
    if (lb.has("warmupDurationSecs") && lb.has("warmup")) {
      lb.error("warmup", "is set together with warmupDurationSecs; expected one of them");
      return null;
    }
    String simple = lb.has("consistentHash") ? "consistentHash" : lb.string("simple", false);
    if (simple != null && !simple.equals("ROUND_ROBIN") && !simple.equals("LEAST_REQUEST")) {
      lb.error(lb.has("warmup") ? "warmup" : "warmupDurationSecs", "slow start applies to ROUND_ROBIN and"
          + " LEAST_REQUEST only; the load balancer is " + simple);
      return null;
    }
    java.time.Duration duration;
    Double aggression = null;
    Double minimum = null;
    if (lb.has("warmupDurationSecs")) {
      duration = PolicyParser.duration(lb, "warmupDurationSecs");
    } else {
      Fields w = lb.object("warmup", false);
      if (w == null) {
        return null;
      }
      w.allow("duration", "minimumPercent", "aggression");
      if (!w.has("duration")) {
        w.error("duration", "is required; expected e.g. 60s");
        return null;
      }
      duration = PolicyParser.duration(w, "duration");
      minimum = w.number("minimumPercent", 0, 100, null);
      aggression = w.number("aggression", 1, Double.MAX_VALUE, null);
    }
    if (duration == null) {
      return null;
    }
    if (duration.isZero()) {
      lb.error(lb.has("warmup") ? "warmup" : "warmupDurationSecs", "is zero; expected a window such as 60s");
      return null;
    }
    return new Policy.Warmup(duration, aggression, minimum);
  }

  private static Long positive(Fields f, String field, long max) {
    if (!f.has(field)) {
      return null;
    }
    Integer v = f.integer(field, 1, (int) Math.min(max, Integer.MAX_VALUE), null);
    return v == null ? null : v.longValue();
  }
}
