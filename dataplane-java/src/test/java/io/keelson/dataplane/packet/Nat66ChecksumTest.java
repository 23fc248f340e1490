package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** NAT66's incremental TCP/UDP checksum against a full recomputation, over random packets and rewrites. */
class Nat66ChecksumTest {
  private static final int L3 = 14;

  private static String randomAddress(Random r) {
    return new Ipv6.Address(r.nextLong(), r.nextLong()).toString();
  }

  @Test
  void incrementalUpdateMatchesAFullRecomputationOverRandomRewrites() {
    Random r = new Random(7);
    for (int n = 0; n < 5_000; n++) {
      boolean tcp = r.nextBoolean();
      String src = randomAddress(r);
      String dst = randomAddress(r);
      TestPacket6 p = tcp ? TestPacket6.tcp(src, r.nextInt(65536), dst, r.nextInt(65536), r.nextInt(256))
          : TestPacket6.udp(src, r.nextInt(65536), dst, r.nextInt(65536));
      byte[] frame = p.payload(r.nextInt(64)).hopLimit(2 + r.nextInt(250)).bytes();
      PacketBuffer buf = TestPacket.wrap(frame);
      int protocol = tcp ? Ipv4.PROTO_TCP : Ipv4.PROTO_UDP;
      int hop = buf.getByte(L3 + Ipv6.HOP_LIMIT);
      long[] next = {r.nextLong(), r.nextLong(), r.nextLong(), r.nextLong()};
      int sport = r.nextInt(65536);
      int dport = r.nextInt(65536);
      Nat66Rewrite.forward(buf, L3, L3 + Ipv6.HEADER_LENGTH, protocol, next[0], next[1], next[2], next[3], sport, dport);
      assertThat(TestPacket6.address(buf, L3 + Ipv6.SRC)).isEqualTo(new Ipv6.Address(next[0], next[1]));
      assertThat(TestPacket6.address(buf, L3 + Ipv6.DST)).isEqualTo(new Ipv6.Address(next[2], next[3]));
      assertThat(buf.getShort(L3 + 40)).isEqualTo(sport);
      assertThat(buf.getShort(L3 + 42)).isEqualTo(dport);
      assertThat(buf.getByte(L3 + Ipv6.HOP_LIMIT)).isEqualTo(hop - 1);
      assertThat(TestPacket6.checksumValid(buf)).as("packet " + n).isTrue();
    }
  }

  @Test
  void addressTextRoundTripsInItsShortestForm() {
    for (String text : new String[] {"2001:db8::10", "::", "::1", "fe80::1:2", "2001:db8:0:1:1:1:1:1", "ff02::1:ff00:11"}) {
      assertThat(Ipv6.Address.parse(text).toString()).isEqualTo(text);
    }
    assertThat(Ipv6.Address.parse("[2001:DB8:0:0:0:0:0:10]").toString()).isEqualTo("2001:db8::10");
    assertThat(Ipv6.Prefix.parse("2001:db8::/32").contains(0x2001_0db8_ffff_0000L, 5)).isTrue();
    assertThat(Ipv6.Prefix.parse("2001:db8::/32").contains(0x2001_0db9_0000_0000L, 5)).isFalse();
    assertThat(Ipv6.Prefix.parse("2001:db8::1:0/112").contains(0x2001_0db8_0000_0000L, 0x1_0005L)).isTrue();
  }
}
