package io.keelson.dataplane.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** tunneling_config's command operators: parsed once, rendered per connection; unknown ones refused. */
class TcpTunnelingTemplateTest {
  private static final TcpTunnelingConfig.Downstream V4 = new TcpTunnelingConfig.Downstream(
      new InetSocketAddress("10.0.0.5", 8443), new InetSocketAddress("192.0.2.7", 40000), "db.example");
  private static final TcpTunnelingConfig.Downstream V6 = new TcpTunnelingConfig.Downstream(
      new InetSocketAddress("::1", 9000), new InetSocketAddress("2001:db8::7", 5), null);

  private static String render(String template, TcpTunnelingConfig.Downstream d) {
    return TcpTunnelingConfig.Template.parse(template).render(d);
  }

  @Test
  void rendersEveryOperatorAndKeepsLiterals() {
    assertThat(render("host.example:443", V4)).isEqualTo("host.example:443");
    assertThat(render("%REQUESTED_SERVER_NAME%:%DOWNSTREAM_LOCAL_PORT%", V4)).isEqualTo("db.example:8443");
    assertThat(render("%DOWNSTREAM_LOCAL_ADDRESS%|%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%", V4)).isEqualTo("10.0.0.5:8443|10.0.0.5");
    assertThat(render("%DOWNSTREAM_REMOTE_ADDRESS%|%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%|%DOWNSTREAM_REMOTE_PORT%", V4))
        .isEqualTo("192.0.2.7:40000|192.0.2.7|40000");
  }

  @Test
  void bracketsIpv6AndLeavesAMissingServerNameEmpty() {
    assertThat(render("%DOWNSTREAM_LOCAL_ADDRESS%", V6)).isEqualTo("[::1]:9000");
    assertThat(render("%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%", V6)).isEqualTo("[2001:db8::7]");
    assertThat(render("x%REQUESTED_SERVER_NAME%y", V6)).isEqualTo("xy");
  }

  @Test
  void refusesUnknownOperatorsAndAnUnclosedPercent() {
    assertThatThrownBy(() -> TcpTunnelingConfig.Template.parse("%DYNAMIC_METADATA(tunnel:address)%"))
        .hasMessageContaining("%DYNAMIC_METADATA(tunnel:address)% is not supported here").hasMessageContaining("DOWNSTREAM_LOCAL_PORT");
    assertThatThrownBy(() -> TcpTunnelingConfig.Template.parse("host:%DOWNSTREAM_LOCAL_PORT"))
        .hasMessageContaining("is not closed");
  }
}
