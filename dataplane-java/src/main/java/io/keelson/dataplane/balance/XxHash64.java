package io.keelson.dataplane.balance;

import java.nio.charset.StandardCharsets;

/**
 * xxHash64 (seed 0), the hash Envoy's ring hash and Maglev use for host keys and request hashes,
 * so the same keys land in the same places as in Envoy's ring. Strings are hashed as their UTF-8
 * bytes; ASCII strings without allocating. Stateless.
 */
public final class XxHash64 {
  private static final long P1 = 0x9E3779B185EBCA87L;
  private static final long P2 = 0xC2B2AE3D27D4EB4FL;
  private static final long P3 = 0x165667B19E3779F9L;
  private static final long P4 = 0x85EBCA77C2B2AE63L;
  private static final long P5 = 0x27D4EB2F165667C5L;

  private XxHash64() {}

  public static long hash(String s) {
    int n = s.length();
    for (int i = 0; i < n; i++) {
      if (s.charAt(i) >= 0x80) {
        return hash(s.getBytes(StandardCharsets.UTF_8));
      }
    }
    return hashAscii(s, n);
  }

  public static long hash(byte[] b) {
    return hashBytes(b, b.length);
  }

  private static long hashAscii(String in, int len) {
    int i = 0;
    long h;
    if (len >= 32) {
      long v1 = P1 + P2;
      long v2 = P2;
      long v3 = 0;
      long v4 = -P1;
      int limit = len - 32;
      do {
        v1 = round(v1, long8S(in, i));
        v2 = round(v2, long8S(in, i + 8));
        v3 = round(v3, long8S(in, i + 16));
        v4 = round(v4, long8S(in, i + 24));
        i += 32;
      } while (i <= limit);
      h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
      h = merge(h, v1);
      h = merge(h, v2);
      h = merge(h, v3);
      h = merge(h, v4);
    } else {
      h = P5;
    }
    h += len;
    while (i + 8 <= len) {
      h ^= round(0, long8S(in, i));
      h = Long.rotateLeft(h, 27) * P1 + P4;
      i += 8;
    }
    if (i + 4 <= len) {
      h ^= (int4S(in, i) & 0xFFFFFFFFL) * P1;
      h = Long.rotateLeft(h, 23) * P2 + P3;
      i += 4;
    }
    while (i < len) {
      h ^= (in.charAt(i) & 0xFFL) * P5;
      h = Long.rotateLeft(h, 11) * P1;
      i++;
    }
    h ^= h >>> 33;
    h *= P2;
    h ^= h >>> 29;
    h *= P3;
    h ^= h >>> 32;
    return h;
  }

  private static long hashBytes(byte[] in, int len) {
    int i = 0;
    long h;
    if (len >= 32) {
      long v1 = P1 + P2;
      long v2 = P2;
      long v3 = 0;
      long v4 = -P1;
      int limit = len - 32;
      do {
        v1 = round(v1, long8B(in, i));
        v2 = round(v2, long8B(in, i + 8));
        v3 = round(v3, long8B(in, i + 16));
        v4 = round(v4, long8B(in, i + 24));
        i += 32;
      } while (i <= limit);
      h = Long.rotateLeft(v1, 1) + Long.rotateLeft(v2, 7) + Long.rotateLeft(v3, 12) + Long.rotateLeft(v4, 18);
      h = merge(h, v1);
      h = merge(h, v2);
      h = merge(h, v3);
      h = merge(h, v4);
    } else {
      h = P5;
    }
    h += len;
    while (i + 8 <= len) {
      h ^= round(0, long8B(in, i));
      h = Long.rotateLeft(h, 27) * P1 + P4;
      i += 8;
    }
    if (i + 4 <= len) {
      h ^= (int4B(in, i) & 0xFFFFFFFFL) * P1;
      h = Long.rotateLeft(h, 23) * P2 + P3;
      i += 4;
    }
    while (i < len) {
      h ^= ((in[i] & 0xFF) & 0xFFL) * P5;
      h = Long.rotateLeft(h, 11) * P1;
      i++;
    }
    h ^= h >>> 33;
    h *= P2;
    h ^= h >>> 29;
    h *= P3;
    h ^= h >>> 32;
    return h;
  }

  private static long long8S(String in, int i) {
    return (int4S(in, i) & 0xFFFFFFFFL) | ((long) int4S(in, i + 4) << 32);
  }

  private static int int4S(String in, int i) {
    return in.charAt(i) | in.charAt(i + 1) << 8 | in.charAt(i + 2) << 16 | in.charAt(i + 3) << 24;
  }

  private static long long8B(byte[] in, int i) {
    return (int4B(in, i) & 0xFFFFFFFFL) | ((long) int4B(in, i + 4) << 32);
  }

  private static int int4B(byte[] in, int i) {
    return (in[i] & 0xFF) | (in[i + 1] & 0xFF) << 8 | (in[i + 2] & 0xFF) << 16 | (in[i + 3] & 0xFF) << 24;
  }

  private static long round(long acc, long input) {
    acc += input * P2;
    acc = Long.rotateLeft(acc, 31);
    return acc * P1;
  }

  private static long merge(long h, long v) {
    h ^= round(0, v);
    return h * P1 + P4;
  }

}
