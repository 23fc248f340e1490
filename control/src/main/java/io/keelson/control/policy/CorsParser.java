package io.keelson.control.policy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Istio's {@code CorsPolicy} (a VirtualService http rule's {@code corsPolicy}) and the Gateway API
 * {@code HTTPCORSFilter}, read as istiod translates them. Stateless.
 */
final class CorsParser {
  private CorsParser() {}

  /**
   * The rule's {@code corsPolicy}, or null when it has none (errors are reported on {@code rule}):
   * {@code allowOrigins} (StringMatch exact / prefix / regex) or the deprecated {@code allowOrigin} (exact
   * strings), {@code allowMethods}, {@code allowHeaders}, {@code exposeHeaders}, {@code maxAge} (a duration, sent
   * in whole seconds), {@code allowCredentials}, {@code unmatchedPreflights} (FORWARD, IGNORE).
   */
  static Policy.Cors istio(Fields rule) {
    Fields c = rule.object("corsPolicy", false);
    if (c == null) {
      return null;
    }
    c.allow(Set.of("allowOrigins", "allowOrigin", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge",
        "allowCredentials", "unmatchedPreflights"), Map.of());
    List<Policy.StringMatch> origins = new ArrayList<>();
    if (c.has("allowOrigins")) {
      if (c.has("allowOrigin")) {
        c.warn("allowOrigin", "ignored: allowOrigins is set (istiod reads allowOrigin only without allowOrigins)");
      }
      for (Fields o : c.objects("allowOrigins", false)) {
        Policy.StringMatch m = IstioParser.stringMatch(o);
        if (m != null) {
          origins.add(m);
        }
      }
    } else {
      for (String o : c.strings("allowOrigin", false)) {
        origins.add(new Policy.StringMatch(Policy.MatchType.EXACT, o));
      }
    }
    Duration maxAge = PolicyParser.duration(c, "maxAge");
    if (maxAge != null && maxAge.getNano() != 0) {
      c.warn("maxAge", "sent in whole seconds (" + maxAge.getSeconds() + "), as istiod does");
    }
    Boolean credentials = c.has("allowCredentials") ? c.bool("allowCredentials") : null;
    Boolean forward = null;
    String unmatched = c.string("unmatchedPreflights", false);
    if (unmatched != null) {
      switch (unmatched) {
        case "FORWARD" -> forward = true;
        case "IGNORE" -> forward = false;
        case "UNSPECIFIED" -> { }
        default -> c.error("unmatchedPreflights", "'" + unmatched + "' is not supported; expected FORWARD or IGNORE");
      }
    }
    return new Policy.Cors(origins, headerList(c, "allowMethods"), headerList(c, "allowHeaders"),
        headerList(c, "exposeHeaders"), maxAge, credentials, forward);
  }

  /**
   * A Gateway API {@code CORS} filter's {@code cors} ({@code HTTPCORSFilter}): {@code allowOrigins} (an origin,
   * {@code *}, or an origin with a {@code *} wildcard in its host, matched as a regex), {@code allowMethods},
   * {@code allowHeaders}, {@code exposeHeaders}, {@code maxAge} (seconds, 5 by default as the specification says),
   * {@code allowCredentials}. Null when {@code f} is null.
   */
  static Policy.Cors gateway(Fields f) {
    if (f == null) {
      return null;
    }
    f.allow("allowOrigins", "allowMethods", "allowHeaders", "exposeHeaders", "maxAge", "allowCredentials");
    List<Policy.StringMatch> origins = new ArrayList<>();
    for (String o : f.strings("allowOrigins", false)) {
      if (o.equals("*") || !o.contains("*")) {
        origins.add(new Policy.StringMatch(Policy.MatchType.EXACT, o));
      } else {
        // "https://*.example.com": the wildcard stands for one or more characters of the host, as a regex.
        StringBuilder regex = new StringBuilder();
        for (char ch : o.toCharArray()) {
          if (ch == '*') {
            regex.append("[^/]+");
          } else {
            if (".^$|?+()[]{}\\".indexOf(ch) >= 0) {
              regex.append('\\');
            }
            regex.append(ch);
          }
        }
        origins.add(new Policy.StringMatch(Policy.MatchType.REGEX, regex.toString()));
      }
    }
    Integer maxAge = f.integer("maxAge", 1, Integer.MAX_VALUE, 5);
    Boolean credentials = f.has("allowCredentials") ? f.bool("allowCredentials") : null;
    return new Policy.Cors(origins, headerList(f, "allowMethods"), headerList(f, "allowHeaders"),
        headerList(f, "exposeHeaders"), maxAge == null ? null : Duration.ofSeconds(maxAge), credentials, null);
  }

  /** A list of header names or methods the proxy joins with ',' into one header value. */
  private static List<String> headerList(Fields f, String field) {
    List<String> values = f.strings(field, false);
    for (int i = 0; i < values.size(); i++) {
      String v = values.get(i);
      if (!v.chars().allMatch(ch -> ch > 0x20 && ch < 0x7f && ch != ',')) {
        f.error(field, "'" + v + "' is not a header name or method; expected one token per item (no spaces or commas)");
      }
    }
    return values;
  }
}
