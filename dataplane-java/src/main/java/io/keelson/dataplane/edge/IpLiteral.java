package io.keelson.dataplane.edge;

import io.keelson.dataplane.config.InternalAddresses;

/**
 * Parses an IP address literal out of a slice of a header value without allocating, as inet_pton does (what
 * Envoy's x-forwarded-for parsing uses): dotted IPv4 with no leading zeros, IPv6 with at most one {@code ::} and
 * an optional dotted IPv4 tail; no brackets, ports or zone ids. One per connection: reused for each request.
 * Not thread-safe.
 */
final class IpLiteral {
  private final int[] groups = new int[8];
  /** The last parsed address was IPv4 ({@link #v4}), else IPv6 ({@link #hi}, {@link #lo}). */
  boolean isV4;
  int v4;
  long hi;
  long lo;

  /** Parses {@code s[from, to)}; false (and the fields undefined) when it is not an address literal. */
  boolean parse(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      if (s.charAt(i) == ':') {
        isV4 = false;
        return parseV6(s, from, to);
      }
    }
    long a = parseV4(s, from, to);
    if (a < 0) {
      return false;
    }
    isV4 = true;
    v4 = (int) a;
    return true;
  }

  /** True when the last parsed address is in {@code table}. */
  boolean in(InternalAddresses table) {
    return isV4 ? table.containsV4(v4) : table.containsV6(hi, lo);
  }

  /** The IPv4 address in {@code s[from, to)} as an unsigned 32-bit value, or -1. */
  static long parseV4(String s, int from, int to) {
    long address = 0;
    int octets = 0;
    int i = from;
    while (true) {
      int start = i;
      int value = 0;
      while (i < to && i - start < 4) {
        char c = s.charAt(i);
        if (c < '0' || c > '9') {
          break;
        }
        value = value * 10 + (c - '0');
        i++;
      }
      int digits = i - start;
      if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && s.charAt(start) == '0')) {
        return -1;
      }
      address = address << 8 | value;
      octets++;
      if (octets == 4) {
        return i == to ? address : -1;
      }
      if (i >= to || s.charAt(i) != '.') {
        return -1;
      }
      i++;
    }
  }

  private boolean parseV6(String s, int from, int to) {
    int n = 0;
    int gap = -1;
    int i = from;
    if (to - from >= 2 && s.charAt(from) == ':' && s.charAt(from + 1) == ':') {
      gap = 0;
      i += 2;
    } else if (i < to && s.charAt(i) == ':') {
      return false;
    }
    while (i < to) {
      int start = i;
      int value = 0;
      while (i < to && i - start <= 4) {
        int d = Character.digit(s.charAt(i), 16);
        if (d < 0) {
          break;
        }
        value = value << 4 | d;
        i++;
      }
      if (i < to && s.charAt(i) == '.') {
        long a = parseV4(s, start, to);
        if (a < 0 || n > 6) {
          return false;
        }
        groups[n++] = (int) (a >>> 16);
        groups[n++] = (int) (a & 0xffff);
        i = to;
        break;
      }
      int digits = i - start;
      if (digits == 0 || digits > 4 || n == 8) {
        return false;
      }
      groups[n++] = value;
      if (i == to) {
        break;
      }
      if (s.charAt(i) != ':') {
        return false;
      }
      i++;
      if (i < to && s.charAt(i) == ':') {
        if (gap >= 0) {
          return false;
        }
        gap = n;
        i++;
      } else if (i == to) {
        return false; // a trailing single colon
      }
    }
    if (gap < 0 ? n != 8 : n > 7) {
      return false;
    }
    long h = 0;
    long l = 0;
    for (int g = 0; g < 8; g++) {
      int value;
      if (gap < 0) {
        value = groups[g];
      } else {
        int tail = n - gap; // groups after the gap sit at the end
        value = g < gap ? groups[g] : g >= 8 - tail ? groups[gap + g - (8 - tail)] : 0;
      }
      if (g < 4) {
        h = h << 16 | value;
      } else {
        l = l << 16 | value;
      }
    }
    hi = h;
    lo = l;
    return true;
  }
}
