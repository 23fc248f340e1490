package io.keelson.dataplane.packet;

import io.keelson.dataplane.packet.Ipv6Config.Backend6;
import io.keelson.dataplane.packet.Ipv6Config.Interface6;
import java.util.List;

/**
 * {@link TestGateway} with IPv6: port 0 (clients) 2001:db8:1::1/64, port 1 (backends) 2001:db8:2::1/64 with
 * SNAT address 2001:db8:2::2. VIP 2001:db8::10: TCP 80 and UDP 53 over three backends on port 8080.
 */
final class TestGateway6 {
  static final String VIP = "2001:db8::10";
  static final String GW_CLIENT_SIDE = "2001:db8:1::1";
  static final String GW_BACKEND_SIDE = "2001:db8:2::1";
  static final String SNAT = "2001:db8:2::2";
  static final String CLIENT = "2001:db8:1::7";
  static final String[] BACKENDS = {"2001:db8:2::11", "2001:db8:2::12", "2001:db8:2::13"};

  static GatewayConfig.Builder builder(String... backendIps) {
    if (backendIps.length == 0) {
      backendIps = BACKENDS;
    }
    List<Backend6> backends = java.util.Arrays.stream(backendIps).map(ip -> Backend6.of(ip, 8080, 1)).toList();
    return TestGateway.builder()
        .addInterface6(Interface6.of(0, GW_CLIENT_SIDE + "/64"))
        .addInterface6(Interface6.of(1, GW_BACKEND_SIDE + "/64"))
        .addSnatAddress6(SNAT)
        .addVip6(new Ipv6Config.Vip6("web6", Ipv6.Address.parse(VIP), 80, Ipv4.PROTO_TCP, backends))
        .addVip6(new Ipv6Config.Vip6("dns6", Ipv6.Address.parse(VIP), 53, Ipv4.PROTO_UDP, backends));
  }

  static GatewayConfig config(String... backendIps) {
    return builder(backendIps).build();
  }

  static long backendMac(String ip) {
    return 0x02_00_00_00_B6_00L | (Ipv6.Address.parse(ip).lo() & 0xFF);
  }

  static final long CLIENT_MAC = TestPacket.CLIENT_MAC;
}
