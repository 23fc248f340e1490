package io.keelson.control.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** IP prefixes as Envoy reads them: host bits masked, a bare address a whole-width prefix, lengths within the width. */
class CidrTest {
  @Test
  void masksHostBitsAndReadsABareAddressAsTheWholeWidth() {
    assertThat(Cidr.canonical("10.9.0.1/24")).isEqualTo("10.9.0.0/24");
    assertThat(Cidr.parse("10.9.0.5")).isEqualTo(Cidr.parse("10.9.0.5/32"));
    assertThat(Cidr.canonical("fd00::1/64")).isEqualTo("fd00::/64");
    assertThat(Cidr.canonical("::")).isEqualTo("::/128");
    assertThat(Cidr.canonical("2001:db8:0:1:0:0:0:1")).isEqualTo("2001:db8:0:1::1/128");
    assertThat(Cidr.canonical("0.0.0.0/0")).isEqualTo("0.0.0.0/0");
  }

  @Test
  void refusesWhatIsNotAnAddressWithALengthWithinItsWidth() {
    for (String bad : new String[] {"10.0.0.0/40", "::/200", "10.1.2", "10.0.0.256", "10.0.0.0/", "10.0.0.0/-1",
        "example.com", "10.0.0.0/8/x", ""}) {
      assertThat(Cidr.problem(bad)).as(bad).startsWith("is not an IP address or CIDR block");
      assertThatThrownBy(() -> Cidr.parse(bad)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void refusesAnIpv4MappedIpv6LiteralWhoseLengthWouldBeReadAgainstTheIpv4Width() {
    for (String mapped : new String[] {"::ffff:10.0.0.0/104", "::ffff:10.0.0.1", "::ffff:a00:1/128"}) {
      assertThat(Cidr.problem(mapped)).as(mapped).startsWith("is an IPv4-mapped IPv6 address; expected the IPv4"
          + " address itself (10.0.0.");
      assertThatThrownBy(() -> Cidr.parse(mapped)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void intersectsByContainment() {
    Cidr wide = Cidr.parse("10.9.0.0/16");
    Cidr narrow = Cidr.parse("10.9.1.0/24");
    assertThat(wide.intersection(narrow)).isEqualTo(narrow);
    assertThat(narrow.intersection(wide)).isEqualTo(narrow);
    assertThat(narrow.intersection(Cidr.parse("10.8.0.9"))).isNull();
    assertThat(Cidr.parse("0.0.0.0/0").contains(Cidr.parse("::1"))).as("another family").isFalse();
  }
}
