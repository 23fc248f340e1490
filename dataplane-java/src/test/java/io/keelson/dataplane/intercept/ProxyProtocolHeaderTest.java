package io.keelson.dataplane.intercept;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProxyProtocolHeaderTest {
  private static ByteBuf ascii(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
  }

  /** A v2 header: version/command byte, family/protocol byte, then {@code body} (addresses and TLVs). */
  static ByteBuf v2(int verCmd, int famProto, byte[] body) {
    ByteBuf b = Unpooled.buffer();
    b.writeBytes(ProxyProtocolHeader.V2_SIGNATURE).writeByte(verCmd).writeByte(famProto).writeShort(body.length)
        .writeBytes(body);
    return b;
  }

  private static byte[] tcp4Body(byte[] tlvs) {
    ByteBuf b = Unpooled.buffer();
    b.writeBytes(new byte[] {(byte) 203, 0, 113, 7}).writeBytes(new byte[] {10, 0, 0, 1}).writeShort(51000)
        .writeShort(443).writeBytes(tlvs);
    byte[] out = new byte[b.readableBytes()];
    b.readBytes(out);
    return out;
  }

  @Test
  void readsV1Tcp4AndTcp6WithoutConsuming() throws Exception {
    ByteBuf in = ascii("PROXY TCP4 203.0.113.7 10.0.0.1 51000 8080\r\nGET / HTTP/1.1\r\n");
    ProxyProtocolHeader.Header h = ProxyProtocolHeader.read(in);
    assertThat(h.version()).isEqualTo(1);
    assertThat(h.source()).isEqualTo(new InetSocketAddress("203.0.113.7", 51000));
    assertThat(h.destination()).isEqualTo(new InetSocketAddress("10.0.0.1", 8080));
    assertThat(h.length()).isEqualTo("PROXY TCP4 203.0.113.7 10.0.0.1 51000 8080\r\n".length());
    assertThat(in.readerIndex()).isZero();

    h = ProxyProtocolHeader.read(ascii("PROXY TCP6 2001:db8::7 ::1 1 65535\r\n"));
    assertThat(h.source()).isEqualTo(new InetSocketAddress("2001:db8::7", 1));
    assertThat(h.destination().getPort()).isEqualTo(65535);
    h = ProxyProtocolHeader.read(ascii("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n"));
    assertThat(h.source()).isNull();
  }

  @Test
  void waitsForMoreWhileTheBytesCanStillBeAHeader() throws Exception {
    for (String partial : new String[] {"P", "PROX", "PROXY ", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2", "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r"}) {
      assertThat(ProxyProtocolHeader.read(ascii(partial))).as(partial).isSameAs(ProxyProtocolHeader.NEED_MORE);
      assertThat(ProxyProtocolHeader.mayStart(ascii(partial))).isTrue();
    }
    ByteBuf whole = v2(0x21, 0x11, tcp4Body(new byte[0]));
    for (int n = 1; n < whole.readableBytes(); n++) {
      assertThat(ProxyProtocolHeader.read(whole.slice(0, n))).as("%d bytes", n).isSameAs(ProxyProtocolHeader.NEED_MORE);
    }
    assertThat(ProxyProtocolHeader.mayStart(ascii("GET / HTTP/1.1"))).isFalse();
    assertThat(ProxyProtocolHeader.mayStart(Unpooled.wrappedBuffer(new byte[] {0x16, 0x03, 0x01}))).isFalse();
  }

  @Test
  void refusesMalformedV1Headers() {
    String[] bad = {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "PROXY TCP4 ::1 5.6.7.8 1 2\r\n", "PROXY TCP6 1.2.3.4 ::1 1 2\r\n",
        "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", "PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n",
        "PROXY TCP4 example.com 5.6.7.8 1 2\r\n", "PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n",
        "PROXY " + "A".repeat(120)};
    for (String s : bad) {
      assertThatThrownBy(() -> ProxyProtocolHeader.read(ascii(s))).as(s)
          .isInstanceOfSatisfying(ProxyProtocolHeader.Malformed.class, e -> assertThat(e.version()).isEqualTo(1));
    }
    assertThatThrownBy(() -> ProxyProtocolHeader.read(ascii("GET / HTTP/1.1\r\n")))
        .isInstanceOfSatisfying(ProxyProtocolHeader.Malformed.class, e -> assertThat(e.version()).isZero());
  }

  @Test
  void v1AddressesAreStrictLiteralsNeverResolvedNorReadAsShorthand() throws Exception {
    // Each of these InetAddress.getByName accepts as another address (1.2.3 = 1.2.0.3, 4294967295 = 255.255.255.255)
    // or sends to the resolver (999.1.1.1, g::1): a lookup on the event loop.
    String[] badV4 = {"999.1.1.1", "256.1.1.1", "1.2.3", "01.2.3.4", "1.02.3.4", "00.1.2.3", "4294967295", "1.2.3.4.5",
        "1.2.3.", ".1.2.3", "1..2.3", "0x1.2.3.4", "1.2.3.1000"};
    for (String a : badV4) {
      assertThatThrownBy(() -> ProxyProtocolHeader.read(ascii("PROXY TCP4 " + a + " 10.0.0.1 1 2\r\n"))).as(a)
          .isInstanceOf(ProxyProtocolHeader.Malformed.class).hasMessageContaining("'" + a + "'");
      assertThatThrownBy(() -> ProxyProtocolHeader.read(ascii("PROXY TCP4 10.0.0.1 " + a + " 1 2\r\n"))).as(a)
          .isInstanceOf(ProxyProtocolHeader.Malformed.class);
    }
    String[] badV6 = {"g::1", "zz:1", "fe80::1%eth0", "[::1]", "::ffff:1.2.3.4", "1:2:3:4:5:6:7:8:9", "1:::2", ":"};
    for (String a : badV6) {
      assertThatThrownBy(() -> ProxyProtocolHeader.read(ascii("PROXY TCP6 " + a + " ::1 1 2\r\n"))).as(a)
          .isInstanceOf(ProxyProtocolHeader.Malformed.class);
    }
    String[][] good = {{"TCP4", "0.0.0.0", "0.0.0.0"}, {"TCP4", "255.255.255.255", "255.255.255.255"},
        {"TCP4", "10.200.0.9", "10.200.0.9"}, {"TCP6", "::", "0:0:0:0:0:0:0:0"},
        {"TCP6", "2001:DB8::1", "2001:db8:0:0:0:0:0:1"}, {"TCP6", "fe80::a:b", "fe80:0:0:0:0:0:a:b"}};
    for (String[] g : good) {
      ProxyProtocolHeader.Header h = ProxyProtocolHeader.read(ascii("PROXY " + g[0] + " " + g[1] + " " + g[1] + " 1 2\r\n"));
      assertThat(h.source().getAddress().getHostAddress()).as(g[1]).isEqualTo(g[2]);
      assertThat(h.source().isUnresolved()).isFalse();
    }
  }

  @Test
  void readsV2ProxyTcp4SkippingTlvsAndLocalKeepsTheSocketAddresses() throws Exception {
    byte[] tlvs = {0x04, 0x00, 0x02, 'h', 'i', 0x01, 0x00, 0x00}; // a NOOP-ish TLV and an empty ALPN TLV
    ByteBuf in = v2(0x21, 0x11, tcp4Body(tlvs));
    in.writeBytes("after".getBytes(StandardCharsets.US_ASCII));
    ProxyProtocolHeader.Header h = ProxyProtocolHeader.read(in);
    assertThat(h.version()).isEqualTo(2);
    assertThat(h.source()).isEqualTo(new InetSocketAddress("203.0.113.7", 51000));
    assertThat(h.destination()).isEqualTo(new InetSocketAddress("10.0.0.1", 443));
    assertThat(h.length()).isEqualTo(16 + 12 + tlvs.length);

    byte[] v6 = new byte[36];
    v6[15] = 1; // ::1
    v6[31] = 2; // ::2
    v6[33] = 80;
    v6[35] = 81;
    h = ProxyProtocolHeader.read(v2(0x21, 0x21, v6));
    assertThat(h.source()).isEqualTo(new InetSocketAddress("::1", 80));
    assertThat(h.destination()).isEqualTo(new InetSocketAddress("::2", 81));

    h = ProxyProtocolHeader.read(v2(0x20, 0x00, new byte[0])); // LOCAL: a balancer's health check
    assertThat(h.source()).isNull();
    assertThat(h.length()).isEqualTo(16);
    h = ProxyProtocolHeader.read(v2(0x20, 0x11, tcp4Body(new byte[0]))); // LOCAL with addresses: ignored
    assertThat(h.source()).isNull();
  }

  @Test
  void refusesMalformedV2Headers() {
    ByteBuf[] bad = {
        v2(0x11, 0x11, tcp4Body(new byte[0])), // version 1 in the binary form
        v2(0x22, 0x11, tcp4Body(new byte[0])), // command 2
        v2(0x21, 0x11, new byte[8]), // shorter than its IPv4 addresses
        v2(0x21, 0x41, tcp4Body(new byte[0])), // family 4
        v2(0x21, 0x11, tcp4Body(new byte[] {0x04, 0x00, 0x09, 'x'})), // a TLV past the end
        v2(0x21, 0x11, tcp4Body(new byte[] {0x04, 0x00})), // half a TLV header
    };
    for (ByteBuf b : bad) {
      assertThatThrownBy(() -> ProxyProtocolHeader.read(b))
          .isInstanceOfSatisfying(ProxyProtocolHeader.Malformed.class, e -> assertThat(e.version()).isEqualTo(2));
    }
  }

  @Test
  void encodesWhatItReads() throws Exception {
    var src = new InetSocketAddress("203.0.113.7", 51000);
    var dst = new InetSocketAddress("10.0.0.1", 443);
    for (int version : new int[] {1, 2}) {
      ProxyProtocolHeader.Header h = ProxyProtocolHeader.read(
          ProxyProtocolHeader.encode(version, src, dst, io.netty.buffer.UnpooledByteBufAllocator.DEFAULT));
      assertThat(h.version()).isEqualTo(version);
      assertThat(h.source()).isEqualTo(src);
      assertThat(h.destination()).isEqualTo(dst);
      var v6 = new InetSocketAddress("2001:db8::1", 80);
      assertThat(ProxyProtocolHeader.read(ProxyProtocolHeader.encode(version, v6, new InetSocketAddress("::1", 81),
          io.netty.buffer.UnpooledByteBufAllocator.DEFAULT)).source()).isEqualTo(v6);
      assertThat(ProxyProtocolHeader.read(ProxyProtocolHeader.encode(version, src, v6,
          io.netty.buffer.UnpooledByteBufAllocator.DEFAULT)).source()).as("mixed families: unknown").isNull();
    }
    assertThat(ProxyProtocolHeader.encode(1, src, dst, io.netty.buffer.UnpooledByteBufAllocator.DEFAULT)
        .toString(StandardCharsets.US_ASCII)).isEqualTo("PROXY TCP4 203.0.113.7 10.0.0.1 51000 443\r\n");
  }
}
