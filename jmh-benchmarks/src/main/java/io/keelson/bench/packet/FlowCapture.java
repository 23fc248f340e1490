package io.keelson.bench.packet;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes a libpcap capture of many TCP flows from clients to one VIP, for net_pcap replay: first ARP
 * replies from the backends (so the gateway knows their MACs), then per flow a SYN and data segments
 * with valid IPv4 and TCP checksums. Every packet is addressed to the gateway's MAC.
 *
 * <p>Threading: static, stateless.
 */
public final class FlowCapture {
  /** net_pcap's MAC for the first pcap port: 02:70:63:61:70:00 ("pcap" + index). */
  public static final long PCAP0_MAC = 0x027063617000L;
  public static final String GATEWAY_IP = "10.99.0.1";
  public static final String VIP = "10.99.0.100";
  public static final String[] BACKENDS = {"10.99.0.21", "10.99.0.22", "10.99.0.23", "10.99.0.24"};

  private FlowCapture() {}

  /**
   * @param clients      distinct client addresses (10.99.1.0/24 and up)
   * @param portsPerClient flows per client address
   * @param segments     packets per flow after the SYN
   * @return packets written
   */
  public static int write(Path file, int clients, int portsPerClient, int segments) throws IOException {
    int packets = 0;
    try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
      ByteBuffer header = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
      header.putInt(0xa1b2c3d4).putShort((short) 2).putShort((short) 4).putInt(0).putInt(0)
          .putInt(65535).putInt(1); // LINKTYPE_ETHERNET
      out.write(header.array());
      for (int b = 0; b < BACKENDS.length; b++) {
        record(out, arpReply(0x020000000200L + b, ip(BACKENDS[b]), PCAP0_MAC, ip(GATEWAY_IP)), packets++);
      }
      int vip = ip(VIP);
      for (int c = 0; c < clients; c++) {
        int client = ip("10.99.1.0") + 10 + c;
        long mac = 0x020000001000L + c;
        for (int p = 0; p < portsPerClient; p++) {
          int sport = 20000 + p;
          long seq = 1000L * (c * portsPerClient + p);
          record(out, tcp(mac, client, vip, sport, 80, seq, 0, 0x02, 0), packets++);
          for (int s = 0; s < segments; s++) {
            int payload = (s % 3) * 50;
            record(out, tcp(mac, client, vip, sport, 80, seq + 1 + s * 100L, 1, 0x18, payload), packets++);
          }
        }
      }
    }
    return packets;
  }

  private static void record(OutputStream out, byte[] frame, int index) throws IOException {
    ByteBuffer r = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
    r.putInt(index / 1000).putInt((index % 1000) * 1000).putInt(frame.length).putInt(frame.length);
    out.write(r.array());
    out.write(frame);
  }

  static byte[] tcp(long srcMac, int src, int dst, int sport, int dport, long seq, long ack, int flags, int payload) {
    int ipLen = 20 + 20 + payload;
    ByteBuffer f = ByteBuffer.allocate(Math.max(60, 14 + ipLen));
    putMac(f, PCAP0_MAC);
    putMac(f, srcMac);
    f.putShort((short) 0x0800);
    f.put((byte) 0x45).put((byte) 0).putShort((short) ipLen).putShort((short) 1).putShort((short) 0x4000)
        .put((byte) 64).put((byte) 6).putShort((short) 0).putInt(src).putInt(dst);
    f.putShort((short) sport).putShort((short) dport).putInt((int) seq).putInt((int) ack)
        .put((byte) 0x50).put((byte) flags).putShort((short) 65535).putShort((short) 0).putShort((short) 0);
    for (int i = 0; i < payload; i++) {
      f.put((byte) ('a' + i % 26));
    }
    byte[] bytes = f.array();
    putShort(bytes, 24, checksum(bytes, 14, 20, 0));
    long pseudo = ((src >>> 16) & 0xFFFF) + (src & 0xFFFF) + ((dst >>> 16) & 0xFFFF) + (dst & 0xFFFF) + 6 + 20 + payload;
    putShort(bytes, 34 + 16, checksum(bytes, 34, 20 + payload, pseudo));
    return bytes;
  }

  static byte[] arpReply(long senderMac, int senderIp, long targetMac, int targetIp) {
    ByteBuffer f = ByteBuffer.allocate(60);
    putMac(f, targetMac);
    putMac(f, senderMac);
    f.putShort((short) 0x0806).putShort((short) 1).putShort((short) 0x0800).put((byte) 6).put((byte) 4)
        .putShort((short) 2);
    putMac(f, senderMac);
    f.putInt(senderIp);
    putMac(f, targetMac);
    f.putInt(targetIp);
    return f.array();
  }

  private static int checksum(byte[] b, int off, int len, long initial) {
    long sum = initial;
    for (int i = 0; i < len - 1; i += 2) {
      sum += ((b[off + i] & 0xFF) << 8) | (b[off + i + 1] & 0xFF);
    }
    if ((len & 1) != 0) {
      sum += (b[off + len - 1] & 0xFF) << 8;
    }
    while ((sum >>> 16) != 0) {
      sum = (sum & 0xFFFF) + (sum >>> 16);
    }
    return (int) (~sum & 0xFFFF);
  }

  private static void putMac(ByteBuffer f, long mac) {
    f.putShort((short) (mac >>> 32)).putInt((int) mac);
  }

  private static void putShort(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 8);
    b[at + 1] = (byte) v;
  }

  static int ip(String dotted) {
    int ip = 0;
    for (String part : dotted.split("\\.")) {
      ip = (ip << 8) | Integer.parseInt(part);
    }
    return ip;
  }
}
