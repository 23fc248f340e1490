package io.keelson.dataplane.resilience;

import io.keelson.dataplane.testing.ProxyHarness;

/** Bootstrap pieces shared by the resilience socket tests. */
final class ResilienceConfigs {
  private ResilienceConfigs() {}

  /** One catch-all route to cluster {@code c}, with extra YAML (any indentation) under {@code route:}. */
  static String routes(String routeExtras) {
    return reindent("""
        - name: main
          domains: ["*"]
          routes:
          - match: { prefix: "/" }
            route:
              cluster: c
              timeout: 10s
        """, 12) + reindent(routeExtras, 18);
  }

  /** Cluster {@code c} (round robin) with extra YAML (any indentation) appended to it. */
  static String cluster(String extras, int... ports) {
    return ProxyHarness.cluster("c", "ROUND_ROBIN", ports) + reindent(extras, 4);
  }

  /**
   * {@code yaml} (a {@link ProxyHarness#bootstrap}) whose connection manager trusts loopback clients as internal
   * (use_remote_address and internal_address_config 127.0.0.0/8): Envoy honours the router's x-envoy-* request
   * headers from internal clients only, and none is internal by default.
   */
  static String loopbackInternal(String yaml) {
    return ProxyHarness.withHcm(yaml, "use_remote_address: true",
        "internal_address_config: { cidr_ranges: [{ address_prefix: 127.0.0.0, prefix_len: 8 }] }");
  }

  /** {@code yaml} with its common leading spaces replaced by {@code n} spaces. */
  static String reindent(String yaml, int n) {
    String[] lines = yaml.split("\n");
    int min = Integer.MAX_VALUE;
    for (String l : lines) {
      if (!l.isBlank()) {
        min = Math.min(min, l.length() - l.stripLeading().length());
      }
    }
    StringBuilder b = new StringBuilder();
    for (String l : lines) {
      if (!l.isBlank()) {
        b.append(" ".repeat(n)).append(l.substring(min)).append('\n');
      }
    }
    return b.toString();
  }

  /** The value of one line of the admin's /stats text, or -1 when absent. */
  static long stat(String stats, String name) {
    for (String line : stats.split("\n")) {
      if (line.startsWith(name + ": ")) {
        return Long.parseLong(line.substring(name.length() + 2).trim());
      }
    }
    return -1;
  }
}
