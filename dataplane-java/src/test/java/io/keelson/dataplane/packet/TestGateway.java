package io.keelson.dataplane.packet;

import io.keelson.dataplane.packet.GatewayConfig.Backend;
import io.keelson.dataplane.packet.GatewayConfig.Interface;

/**
 * The gateway the tests run: port 0 faces clients (192.0.2.1/24, default route via .254), port 1
 * faces backends (10.1.0.1/24, SNAT address 10.1.0.2). VIP 192.0.2.100: TCP 80 and UDP 53.
 */
final class TestGateway {
  static final String VIP = "192.0.2.100";
  static final String GW_CLIENT_SIDE = "192.0.2.1";
  static final String GW_BACKEND_SIDE = "10.1.0.1";
  static final String SNAT = "10.1.0.2";
  static final String ROUTER = "192.0.2.254";
  static final long ROUTER_MAC = 0x02_00_00_00_0F_FEL;

  static GatewayConfig.Builder builder(Backend... backends) {
    if (backends.length == 0) {
      backends = new Backend[] {
          Backend.of("10.1.0.11", 8080, 1), Backend.of("10.1.0.12", 8080, 1), Backend.of("10.1.0.13", 8080, 1)};
    }
    return GatewayConfig.builder()
        .addInterface(Interface.of(0, "192.0.2.1/24", "02:00:00:00:00:10", ROUTER))
        .addInterface(Interface.of(1, "10.1.0.1/24", "02:00:00:00:00:11", null))
        .addVip("web", VIP, 80, Ipv4.PROTO_TCP, backends)
        .addVip("dns", VIP, 53, Ipv4.PROTO_UDP, backends)
        .addSnatAddress(SNAT);
  }

  static GatewayConfig config(Backend... backends) {
    return builder(backends).build();
  }

  static long backendMac(int ip) {
    return 0x02_00_00_00_B0_00L | (ip & 0xFF);
  }
}
