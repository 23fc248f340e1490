package io.keelson.dataplane.rbac;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class CidrRangeTest {
  private static byte[] ip(String s) throws Exception {
    return InetAddress.getByName(s).getAddress();
  }

  @Test
  void prefixesOnAndOffByteBoundaries() throws Exception {
    assertThat(CidrRange.parse("10.0.0.0/8").contains(ip("10.255.1.1"))).isTrue();
    assertThat(CidrRange.parse("10.0.0.0/8").contains(ip("11.0.0.0"))).isFalse();
    assertThat(CidrRange.parse("192.168.1.128/25").contains(ip("192.168.1.200"))).isTrue();
    assertThat(CidrRange.parse("192.168.1.128/25").contains(ip("192.168.1.127"))).isFalse();
    assertThat(CidrRange.parse("0.0.0.0/0").contains(ip("8.8.8.8"))).isTrue();
    assertThat(CidrRange.parse("1.2.3.4").contains(ip("1.2.3.4"))).isTrue();
    assertThat(CidrRange.parse("1.2.3.4").contains(ip("1.2.3.5"))).isFalse();
    assertThat(CidrRange.parse("fd00::/8").contains(ip("fdff::1"))).isTrue();
    assertThat(CidrRange.parse("fd00::/8").contains(ip("10.0.0.1"))).isFalse();
    assertThat(CidrRange.parse("10.0.0.0/8").contains(null)).isFalse();
  }

  @Test
  void badRangesAreRejected() {
    assertThatThrownBy(() -> CidrRange.parse("10.0.0.0/33")).hasMessageContaining("longer than the address");
    assertThatThrownBy(() -> CidrRange.parse("example.com/8")).hasMessageContaining("not an IP address");
    assertThatThrownBy(() -> CidrRange.parse("10.0.0.0/x")).hasMessageContaining("no valid prefix length");
  }
}
