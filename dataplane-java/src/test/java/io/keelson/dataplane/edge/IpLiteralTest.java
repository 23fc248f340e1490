package io.keelson.dataplane.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.InternalAddresses;
import io.keelson.dataplane.rbac.CidrRange;
import java.net.InetAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The allocation-free address parser and the precomputed internal-address table agree with the JDK's parser. */
class IpLiteralTest {
  private final IpLiteral literal = new IpLiteral();

  @Test
  void parsesWhatInetPtonAcceptsAndNothingElse() throws Exception {
    for (String ok : new String[] {"10.1.2.3", "0.0.0.0", "255.255.255.255", "::", "::1", "fd00::7", "2001:db8::1:0:0:1",
        "1:2:3:4:5:6:7:8", "::ffff:192.0.2.1", "1:2:3:4:5:6:1.2.3.4", "1::", "FE80::ABCD"}) {
      assertThat(literal.parse(ok, 0, ok.length())).as(ok).isTrue();
      byte[] expected = InetAddress.getByName(ok).getAddress();
      if (literal.isV4) {
        assertThat(expected).as(ok).hasSize(4);
        assertThat(literal.v4).as(ok).isEqualTo(java.nio.ByteBuffer.wrap(expected).getInt());
      } else if (expected.length == 16) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(expected);
        assertThat(literal.hi).as(ok).isEqualTo(b.getLong());
        assertThat(literal.lo).as(ok).isEqualTo(b.getLong());
      } else { // the JDK turns ::ffff:a.b.c.d into an IPv4 address
        assertThat(literal.hi).as(ok).isZero();
        assertThat(literal.lo).as(ok).isEqualTo(0xffff_0000_0000L | (java.nio.ByteBuffer.wrap(expected).getInt() & 0xffffffffL));
      }
    }
    for (String bad : new String[] {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d", ":", ":::",
        "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "1:2:3:4:5:6:7", "[::1]", "fe80::1%eth0", "::1:", "1.2.3.4:80",
        "1:2:3:4:5:6:7:1.2.3.4", "unknown"}) {
      assertThat(literal.parse(bad, 0, bad.length())).as("'" + bad + "'").isFalse();
    }
    assertThat(literal.parse("x 10.0.0.1 y", 2, 10)).as("a slice").isTrue();
  }

  @Test
  void theTableMatchesPrefixesOfBothFamiliesAndMappedAddresses() throws Exception {
    InternalAddresses t = new InternalAddresses(false, List.of(CidrRange.of("10.0.0.0", 8), CidrRange.of("192.168.1.0", 24),
        CidrRange.of("fd00::", 8), CidrRange.of("2001:db8:0:0:8000::", 65)));
    String[] in = {"10.255.0.1", "192.168.1.77", "fdff::1", "::ffff:10.0.0.1", "2001:db8::8000:0:0:1"};
    String[] out = {"11.0.0.1", "192.168.2.1", "fe00::1", "::ffff:11.0.0.1", "2001:db8::1", "::1", "127.0.0.1"};
    for (String a : in) {
      assertThat(literal.parse(a, 0, a.length()) && literal.in(t)).as(a).isTrue();
      assertThat(t.contains(InetAddress.getByName(a))).as(a).isTrue();
    }
    for (String a : out) {
      assertThat(literal.parse(a, 0, a.length()) && literal.in(t)).as(a).isFalse();
      assertThat(t.contains(InetAddress.getByName(a))).as(a).isFalse();
    }
    assertThat(InternalAddresses.NONE.contains(InetAddress.getByName("127.0.0.1"))).as("Envoy's default: none").isFalse();
    InternalAddresses all = new InternalAddresses(false, List.of(CidrRange.of("0.0.0.0", 0)));
    assertThat(all.containsV4(0x7f000001)).isTrue();
  }
}
