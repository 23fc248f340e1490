package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ChecksumsTest {
  private static final int L3 = 14;
  private static final int L4 = 34;

  @Test
  void ipv4HeaderChecksumMatchesAKnownHeader() {
    // RFC 1071-style worked example (Wikipedia's IPv4 header checksum example): expected 0xB861.
    byte[] header = {
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00,
        (byte) 0xC0, (byte) 0xA8, 0x00, 0x01, (byte) 0xC0, (byte) 0xA8, 0x00, (byte) 0xC7};
    PacketBuffer buf = PacketBuffer.ofBytes(header, header.length);
    assertThat(Checksums.ipv4Header(buf, 0, 20)).isEqualTo(0xB861);
    buf.putShort(10, 0xB861);
    assertThat(Checksums.ipv4HeaderValid(buf, 0, 20)).isTrue();
    assertThat(Checksums.ipv4Header(buf, 0, 20)).as("stored checksum is ignored").isEqualTo(0xB861);
  }

  @Test
  void theParsersRemainderTestAgreesWithFoldingOnEverySum() {
    SplittableRandom random = new SplittableRandom(7);
    for (int round = 0; round < 200_000; round++) {
      // Sums of five to fifteen 32-bit header words (what the parser adds), multiples of 0xFFFF, and their neighbours.
      long words = random.nextLong(1L << 36);
      long multiple = random.nextLong(1L << 20) * 0xFFFF;
      for (long sum : new long[] {words, multiple, multiple + 1, multiple - 1, random.nextLong()}) {
        assertThat(Checksums.foldsToAllOnes(sum)).as("sum %x", sum).isEqualTo(Checksums.foldLong(sum) == 0xFFFF);
      }
    }
    assertThat(Checksums.foldsToAllOnes(0)).as("zero folds to 0, not 0xFFFF").isFalse();
    assertThat(Checksums.foldsToAllOnes(0xFFFF)).isTrue();
    assertThat(Checksums.foldsToAllOnes(0xFFFFL * 0x1_0001)).isTrue();
    assertThat(Checksums.foldsToAllOnes(-1L)).as("2^64 - 1 = 0xFFFF * 0x1000100010001").isTrue();
    assertThat(Checksums.foldsToAllOnes(-2L)).isFalse();
  }

  @Test
  void sumHandlesOddLengthsByPaddingTheLastByte() {
    byte[] bytes = {0x01, 0x02, 0x03, 0x04, 0x05};
    PacketBuffer buf = PacketBuffer.ofBytes(bytes, bytes.length);
    assertThat(Checksums.fold(Checksums.sum(buf, 0, 5, 0))).isEqualTo(0x0102 + 0x0304 + 0x0500);
    assertThat(Checksums.fold(Checksums.sum(buf, 0, 3, 0))).isEqualTo(0x0102 + 0x0300);
  }

  @Test
  void incrementalNatRewriteEqualsFullRecomputationOnRandomPackets() {
    SplittableRandom random = new SplittableRandom(42);
    for (int round = 0; round < 2_000; round++) {
      boolean tcp = random.nextBoolean();
      TestPacket p = tcp
          ? TestPacket.tcp(ip(random), random.nextInt(1, 65536), ip(random), random.nextInt(1, 65536), Tcp.ACK)
          : TestPacket.udp(ip(random), random.nextInt(1, 65536), ip(random), random.nextInt(1, 65536));
      PacketBuffer buf = p.ttl(random.nextInt(2, 256)).payload(random.nextInt(0, 200))
          .ipId(random.nextInt(65536)).buffer();
      int protocol = tcp ? Ipv4.PROTO_TCP : Ipv4.PROTO_UDP;
      int l4Length = buf.getShort(L3 + Ipv4.TOTAL_LENGTH) - 20;
      int newSrc = random.nextInt();
      int newDst = random.nextInt();
      int newSport = random.nextInt(1, 65536);
      int newDport = random.nextInt(1, 65536);

      int ttl = buf.getByte(L3 + Ipv4.TTL);
      boolean forward = random.nextBoolean();
      if (forward) {
        NatRewrite.forward(buf, L3, L4, protocol, newSrc, newDst, newSport, newDport);
      } else {
        NatRewrite.rewrite(buf, L3, L4, protocol, newSrc, newDst, newSport, newDport);
      }
      assertThat(buf.getByte(L3 + Ipv4.TTL)).isEqualTo(forward ? ttl - 1 : ttl);

      assertThat(buf.getInt(L3 + Ipv4.SRC)).isEqualTo(newSrc);
      assertThat(buf.getInt(L3 + Ipv4.DST)).isEqualTo(newDst);
      assertThat(buf.getShort(L4)).isEqualTo(newSport);
      assertThat(buf.getShort(L4 + 2)).isEqualTo(newDport);
      assertThat(buf.getShort(L3 + Ipv4.CHECKSUM)).isEqualTo(Checksums.ipv4Header(buf, L3, 20));
      int l4Checksum = buf.getShort(L4 + (tcp ? Tcp.CHECKSUM : Udp.CHECKSUM));
      int full = Checksums.l4(buf, L3, L4, l4Length, protocol);
      if (full == 0 && !tcp) {
        full = 0xFFFF; // UDP sends a computed zero as all ones (RFC 768)
      }
      // One's complement has two zeros; both verify. Compare values modulo that, and verify.
      assertThat(l4Checksum == full || (l4Checksum ^ full) == 0xFFFF && (full == 0 || full == 0xFFFF))
          .as("round %d: incremental %04x vs full %04x", round, l4Checksum, full).isTrue();
      assertThat(Checksums.l4Valid(buf, L3, L4, l4Length, protocol)).isTrue();
    }
  }

  @Test
  void ttlDecrementUpdatesTheHeaderChecksumIncrementally() {
    SplittableRandom random = new SplittableRandom(7);
    for (int round = 0; round < 500; round++) {
      PacketBuffer buf = TestPacket.tcp(ip(random), 1000, ip(random), 80, Tcp.SYN)
          .ttl(random.nextInt(2, 256)).ipId(random.nextInt(65536)).buffer();
      int ttl = buf.getByte(L3 + Ipv4.TTL);
      NatRewrite.decrementTtl(buf, L3);
      assertThat(buf.getByte(L3 + Ipv4.TTL)).isEqualTo(ttl - 1);
      assertThat(buf.getShort(L3 + Ipv4.CHECKSUM)).isEqualTo(Checksums.ipv4Header(buf, L3, 20));
    }
  }

  @Test
  void macRewriteWritesExactlyTheTwelveAddressBytes() {
    PacketBuffer buf = TestPacket.tcp("10.0.0.1", 1, "10.0.0.2", 2, Tcp.SYN).buffer();
    int typeBefore = buf.getShort(Ethernet.TYPE);
    NatRewrite.setMacs(buf, 0x0A0B0C0D0E0FL, 0x010203040506L);
    assertThat(buf.getMac(Ethernet.DST)).isEqualTo(0x010203040506L);
    assertThat(buf.getMac(Ethernet.SRC)).isEqualTo(0x0A0B0C0D0E0FL);
    assertThat(buf.getShort(Ethernet.TYPE)).isEqualTo(typeBefore);
  }

  @Test
  void aRewriteBehindIpv4OptionsWritesThePortsAfterTheOptionsAndLeavesThemAlone() {
    // A TCP segment whose IPv4 header carries 4 option bytes (IHL 6): the ports start at 38, not 34.
    byte[] plain = TestPacket.tcp("10.0.0.1", 1000, "10.0.0.2", 80, Tcp.ACK).payload(12).bytes();
    byte[] frame = new byte[plain.length + 4];
    System.arraycopy(plain, 0, frame, 0, L4);
    frame[L4] = 0x01; // NOP, NOP, NOP, end of options
    frame[L4 + 1] = 0x01;
    frame[L4 + 2] = 0x01;
    System.arraycopy(plain, L4, frame, L4 + 4, plain.length - L4);
    PacketBuffer buf = PacketBuffer.ofBytes(frame, frame.length);
    int l4 = L4 + 4;
    int l4Length = plain.length - L4;
    buf.putByte(L3, 0x46);
    buf.putShort(L3 + Ipv4.TOTAL_LENGTH, 24 + l4Length);
    buf.putShort(L3 + Ipv4.CHECKSUM, 0);
    buf.putShort(L3 + Ipv4.CHECKSUM, Checksums.ipv4Header(buf, L3, 24));
    buf.putShort(l4 + Tcp.CHECKSUM, 0);
    buf.putShort(l4 + Tcp.CHECKSUM, Checksums.l4(buf, L3, l4, l4Length, Ipv4.PROTO_TCP));

    NatRewrite.forward(buf, L3, l4, Ipv4.PROTO_TCP, Ipv4.parse("192.0.2.9"), Ipv4.parse("198.51.100.4"), 61000, 8080);

    assertThat(buf.getInt(L3 + Ipv4.SRC)).isEqualTo(Ipv4.parse("192.0.2.9"));
    assertThat(buf.getInt(L3 + Ipv4.DST)).isEqualTo(Ipv4.parse("198.51.100.4"));
    assertThat(buf.getInt(L4)).as("the options").isEqualTo(0x01010100);
    assertThat(buf.getShort(l4)).isEqualTo(61000);
    assertThat(buf.getShort(l4 + 2)).isEqualTo(8080);
    assertThat(buf.getByte(L3 + Ipv4.TTL)).isEqualTo(63);
    assertThat(Checksums.ipv4HeaderValid(buf, L3, 24)).isTrue();
    assertThat(Checksums.l4Valid(buf, L3, l4, l4Length, Ipv4.PROTO_TCP)).isTrue();
  }

  @Test
  void udpWithoutChecksumKeepsItZeroAcrossRewrite() {
    PacketBuffer buf = TestPacket.udp("10.0.0.1", 5000, "10.0.0.2", 53).payload(10).buffer();
    buf.putShort(L4 + Udp.CHECKSUM, 0);
    NatRewrite.rewrite(buf, L3, L4, Ipv4.PROTO_UDP, 1, 2, 3, 4);
    assertThat(buf.getShort(L4 + Udp.CHECKSUM)).isZero();
    assertThat(Checksums.ipv4HeaderValid(buf, L3, 20)).isTrue();
  }

  private static String ip(SplittableRandom random) {
    return Ipv4.format(random.nextInt());
  }
}
