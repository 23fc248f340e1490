package io.keelson.dataplane.gateway;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** libpcap files (Ethernet link type), written and read by the pcap-based gateway test. */
final class Pcap {
  private Pcap() {}

  static void write(Path file, List<byte[]> frames) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      ByteBuffer header = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
      header.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0).putInt(65535).putInt(1);
      out.write(header.array());
      int i = 0;
      for (byte[] f : frames) {
        ByteBuffer r = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        r.putInt(1).putInt(i++).putInt(f.length).putInt(f.length);
        out.write(r.array());
        out.write(f);
      }
    }
  }

  static List<byte[]> read(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    List<byte[]> frames = new ArrayList<>();
    if (b.remaining() < 24) {
      return frames;
    }
    b.position(24);
    while (b.remaining() >= 16) {
      b.getInt();
      b.getInt();
      int caplen = b.getInt();
      b.getInt();
      byte[] f = new byte[caplen];
      b.get(f);
      frames.add(f);
    }
    return frames;
  }

  /** A TCP segment with valid IPv4 and TCP checksums. */
  static byte[] tcp(long dstMac, long srcMac, int src, int dst, int sport, int dport, int seq, int flags) {
    ByteBuffer f = ByteBuffer.allocate(14 + 40);
    f.putShort((short) (dstMac >>> 32)).putInt((int) dstMac).putShort((short) (srcMac >>> 32)).putInt((int) srcMac);
    f.putShort((short) 0x0800);
    f.put((byte) 0x45).put((byte) 0).putShort((short) 40).putShort((short) 7).putShort((short) 0x4000)
        .put((byte) 64).put((byte) 6).putShort((short) 0).putInt(src).putInt(dst);
    f.putShort((short) sport).putShort((short) dport).putInt(seq).putInt(0)
        .put((byte) 0x50).put((byte) flags).putShort((short) 65535).putShort((short) 0).putShort((short) 0);
    byte[] b = f.array();
    put16(b, 24, checksum(b, 14, 20, 0));
    put16(b, 50, checksum(b, 34, 20, pseudo(b)));
    return b;
  }

  static byte[] arpReply(long senderMac, int senderIp, long targetMac, int targetIp) {
    ByteBuffer f = ByteBuffer.allocate(60);
    f.putShort((short) (targetMac >>> 32)).putInt((int) targetMac).putShort((short) (senderMac >>> 32))
        .putInt((int) senderMac).putShort((short) 0x0806);
    f.putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4).putShort((short) 2);
    f.putShort((short) (senderMac >>> 32)).putInt((int) senderMac).putInt(senderIp);
    f.putShort((short) (targetMac >>> 32)).putInt((int) targetMac).putInt(targetIp);
    return f.array();
  }

  /** True when the frame's IPv4 header checksum and TCP checksum both verify. */
  static boolean checksumsValid(byte[] f) {
    int ihl = (f[14] & 0x0F) * 4;
    int total = u16(f, 16);
    return checksum(f, 14, ihl, 0) == 0 && checksum(f, 14 + ihl, total - ihl, pseudo(f)) == 0;
  }

  private static long pseudo(byte[] b) {
    int total = u16(b, 16);
    int ihl = (b[14] & 0x0F) * 4;
    return u16(b, 26) + u16(b, 28) + u16(b, 30) + u16(b, 32) + 6 + (total - ihl);
  }

  static int u16(byte[] b, int at) {
    return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
  }

  static int u32(byte[] b, int at) {
    return (u16(b, at) << 16) | u16(b, at + 2);
  }

  static long mac(byte[] b, int at) {
    return ((long) u16(b, at) << 32) | (u32(b, at + 2) & 0xFFFFFFFFL);
  }

  private static int checksum(byte[] b, int off, int len, long initial) {
    long sum = initial;
    for (int i = 0; i < len - 1; i += 2) {
      sum += u16(b, off + i);
    }
    if ((len & 1) != 0) {
      sum += (b[off + len - 1] & 0xFF) << 8;
    }
    while ((sum >>> 16) != 0) {
      sum = (sum & 0xFFFF) + (sum >>> 16);
    }
    return (int) (~sum & 0xFFFF);
  }

  private static void put16(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 8);
    b[at + 1] = (byte) v;
  }
}
