package io.keelson.dataplane.route;

import io.keelson.dataplane.config.VirtualHostConfig;
import java.util.Locale;
import java.util.Map;

/**
 * Exact domains to virtual hosts, looked up by a region of the authority with ASCII case folding,
 * so neither stripping the port nor lower-casing allocates. Open addressing, built once. Immutable
 * after construction and thread-safe.
 */
final class ExactDomainIndex {
  private final String[] keys;
  private final VirtualHostConfig[] values;
  private final int mask;

  ExactDomainIndex(Map<String, VirtualHostConfig> domains) {
    int capacity = Integer.highestOneBit(Math.max(4, domains.size() * 2 + 1)) << 1;
    keys = new String[capacity];
    values = new VirtualHostConfig[capacity];
    mask = capacity - 1;
    for (Map.Entry<String, VirtualHostConfig> e : domains.entrySet()) {
      String key = e.getKey().toLowerCase(Locale.ROOT);
      int i = hash(key, 0, key.length()) & mask;
      while (keys[i] != null) {
        i = (i + 1) & mask;
      }
      keys[i] = key;
      values[i] = e.getValue();
    }
  }

  VirtualHostConfig get(String s, int from, int to) {
    int i = hash(s, from, to) & mask;
    String key;
    while ((key = keys[i]) != null) {
      if (equalsIgnoreAsciiCase(key, s, from, to)) {
        return values[i];
      }
      i = (i + 1) & mask;
    }
    return null;
  }

  private static int hash(String s, int from, int to) {
    int h = 0;
    for (int i = from; i < to; i++) {
      h = 31 * h + lower(s.charAt(i));
    }
    return h ^ (h >>> 16);
  }

  /** {@code lowerKey} is already lower case. */
  static boolean equalsIgnoreAsciiCase(String lowerKey, String s, int from, int to) {
    return regionEqualsIgnoreAsciiCase(lowerKey, 0, s, from, to - from) && lowerKey.length() == to - from;
  }

  static boolean regionEqualsIgnoreAsciiCase(String lowerKey, int keyFrom, String s, int from, int len) {
    if (keyFrom + len > lowerKey.length() || from + len > s.length()) {
      return false;
    }
    for (int i = 0; i < len; i++) {
      if (lowerKey.charAt(keyFrom + i) != lower(s.charAt(from + i))) {
        return false;
      }
    }
    return true;
  }

  static char lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
  }
}
