package io.keelson.dataplane.gateway;

import java.util.HexFormat;

/** Malformed Ethernet/IPv4 frames, each shaped for exactly one drop reason of the parser. */
final class BadFrames {
  private BadFrames() {}

  /** A well-formed TCP SYN to the VIP (60 bytes), as a base to break. */
  static byte[] synToVip(long dstMac, long srcMac, int srcIp, int dstIp) {
    byte[] f = new byte[14 + 20 + 20];
    putMac(f, 0, dstMac);
    putMac(f, 6, srcMac);
    f[12] = 0x08;
    f[13] = 0x00;
    f[14] = 0x45;
    putShort(f, 16, 40);
    f[22] = 64;
    f[23] = 6;
    putInt(f, 26, srcIp);
    putInt(f, 30, dstIp);
    putShort(f, 34, 45678);
    putShort(f, 36, 80);
    f[46] = 0x50;
    f[47] = 0x02;
    fixIpChecksum(f);
    return f;
  }

  static byte[] truncatedIpv4(byte[] good) {
    return java.util.Arrays.copyOf(good, 14 + 10);
  }

  static byte[] badIhl(byte[] good) {
    byte[] f = good.clone();
    f[14] = 0x43; // IHL 3 words: shorter than any IPv4 header
    fixIpChecksum(f);
    return f;
  }

  static byte[] badTotalLength(byte[] good) {
    byte[] f = good.clone();
    putShort(f, 16, 1000); // claims more than the frame carries
    fixIpChecksum(f);
    return f;
  }

  static byte[] badIpChecksum(byte[] good) {
    byte[] f = good.clone();
    f[24] ^= 0x5A;
    return f;
  }

  static byte[] truncatedTcp(byte[] good) {
    byte[] f = java.util.Arrays.copyOf(good, 14 + 20 + 8);
    putShort(f, 16, 28);
    fixIpChecksum(f);
    return f;
  }

  static String hex(byte[] frame) {
    return HexFormat.of().formatHex(frame);
  }

  static long parseMac(String text) {
    return Long.parseLong(text.trim().replace(":", ""), 16);
  }

  static int parseIp(String dotted) {
    int ip = 0;
    for (String part : dotted.split("\\.")) {
      ip = (ip << 8) | Integer.parseInt(part);
    }
    return ip;
  }

  private static void fixIpChecksum(byte[] f) {
    f[24] = 0;
    f[25] = 0;
    int ihl = (f[14] & 0x0F) * 4;
    int len = Math.max(20, ihl);
    long sum = 0;
    for (int i = 14; i < 14 + len; i += 2) {
      sum += ((f[i] & 0xFF) << 8) | (f[i + 1] & 0xFF);
    }
    while ((sum >>> 16) != 0) {
      sum = (sum & 0xFFFF) + (sum >>> 16);
    }
    putShort(f, 24, (int) (~sum & 0xFFFF));
  }

  private static void putMac(byte[] f, int at, long mac) {
    for (int i = 0; i < 6; i++) {
      f[at + i] = (byte) (mac >>> (40 - 8 * i));
    }
  }

  private static void putShort(byte[] f, int at, int v) {
    f[at] = (byte) (v >>> 8);
    f[at + 1] = (byte) v;
  }

  private static void putInt(byte[] f, int at, int v) {
    putShort(f, at, v >>> 16);
    putShort(f, at + 2, v);
  }
}
