package io.keelson.dataplane.mirror;

/** Envoy's shadow authority: {@code -shadow} appended to the host, before any port. Stateless. */
final class ShadowHost {
  private ShadowHost() {}

  /** {@code example.com} → {@code example.com-shadow}; {@code example.com:8080} → {@code example.com-shadow:8080}. */
  static String of(String host) {
    if (host == null || host.isEmpty()) {
      return "-shadow";
    }
    int colon = host.lastIndexOf(':');
    int bracket = host.lastIndexOf(']');
    if (colon > bracket && colon > 0 && isPort(host, colon + 1)) {
      return host.substring(0, colon) + "-shadow" + host.substring(colon);
    }
    return host + "-shadow";
  }

  private static boolean isPort(String s, int from) {
    if (from >= s.length()) {
      return false;
    }
    for (int i = from; i < s.length(); i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }
}
