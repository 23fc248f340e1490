package io.keelson.dataplane.gateway;

import static io.keelson.dataplane.gateway.NetnsTopology.BACKENDS6;
import static io.keelson.dataplane.gateway.NetnsTopology.CLIENT_IP6;
import static io.keelson.dataplane.gateway.NetnsTopology.NAMES;
import static io.keelson.dataplane.gateway.NetnsTopology.ROUTED_BACKENDS6;
import static io.keelson.dataplane.gateway.NetnsTopology.VIP6;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.internal.ffm.TestEal;
import io.keelson.dataplane.packet.GatewayConfig;
import io.keelson.dataplane.packet.Ipv6;
import io.keelson.dataplane.packet.Ipv6Config;
import io.keelson.dataplane.packet.maglev.MaglevTable;
import io.keelson.testkit.Shell;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway with an IPv6 VIP as a real process on net_af_packet between a client and a backend network
 * namespace: the client's kernel resolves the gateway by Neighbor Discovery, the gateway resolves the
 * backends the same way; curl -6 reaches both backends as Maglev says; an established flow survives its
 * backend's removal; malformed IPv6 frames from a raw socket are counted and dropped; backends on a subnet of their
 * own behind a router namespace are reached through the gateway's IPv6 default gateway. Needs what {@link
 * GatewayNetnsTest} needs; skipped with the reason otherwise.
 */
class GatewayNetnsIpv6Test {
  private static NetnsTopology topo;
  private static String skipReason;

  @BeforeAll
  static void topology() throws IOException {
    skipReason = GatewayNetnsTestSupport.skipReason();
    if (skipReason != null) {
      return;
    }
    topo = new NetnsTopology(true);
    topo.awaitServers();
  }

  @BeforeEach
  void requireTopology() {
    TestEal.skipUnless(skipReason == null, String.valueOf(skipReason));
  }

  @AfterAll
  static void teardown() {
    if (topo != null) {
      topo.close();
    }
  }

  private static GatewayProcess start(String config) throws IOException {
    return new GatewayProcess(topo, config, "inline", List.of(
        "--port-ip6", "outside=" + NetnsTopology.GATEWAY_OUTSIDE6 + "/64",
        "--port-ip6", "inside=" + NetnsTopology.GATEWAY_INSIDE6 + "/64",
        "--snat", NetnsTopology.SNAT6));
  }

  @Test
  void curlToTheIpv6VipSpreadsAsMaglevSaysKeepsFlowsOnARemovedBackendAndDropsMalformedFrames() throws Exception {
    try (GatewayProcess gw = start(topo.writeBootstrapFor(VIP6, BACKENDS6))) {
      assertSpreadAsMaglevSays(44000);
      assertMalformedFramesAreCountedAndDropped(gw);
      assertRemovedBackendKeepsItsEstablishedFlow(gw);
      assertThat(gw.isAlive()).isTrue();
    }
  }

  /**
   * A topology of its own: a router namespace (kernel forwarding) between the gateway's inside link and the
   * backends' subnet. The gateway reaches them through {@code --port-ip6 inside=ADDR/LEN via ROUTER}, resolved by
   * Neighbor Discovery; the router resolves the gateway's SNAT address the same way for the answers.
   */
  @Test
  void curlReachesBackendsBehindARouterThroughTheIpv6DefaultGateway() throws Exception {
    try (NetnsTopology routed = new NetnsTopology(true, true)) {
      routed.awaitServers();
      try (GatewayProcess gw = new GatewayProcess(routed, routed.writeBootstrapFor(VIP6, ROUTED_BACKENDS6), "inline",
          List.of("--port-ip6", "outside=" + NetnsTopology.GATEWAY_OUTSIDE6 + "/64",
              "--port-ip6", "inside=" + NetnsTopology.GATEWAY_INSIDE6 + "/64 via " + NetnsTopology.ROUTER_INSIDE6,
              "--snat", NetnsTopology.SNAT6))) {
        // The first SYN may be dropped while the gateway resolves the router; curl's connect retransmits it.
        String out = Shell.okIn(routed.client, "sh", "-c", "for p in $(seq 47000 47015); do printf '%s ' $p; "
            + "curl -6 -s --max-time 4 --local-port $p 'http://[" + VIP6 + "]/who.txt' || echo FAILED; done");
        Set<String> seen = new HashSet<>();
        for (String line : out.trim().split("\n")) {
          String[] parts = line.trim().split("\\s+");
          assertThat(parts).as("curl from port " + parts[0] + " in:\n" + out).hasSize(2);
          assertThat(parts[1]).as("port " + parts[0]).isIn((Object[]) NAMES);
          seen.add(parts[1]);
        }
        assertThat(seen).containsExactlyInAnyOrder(NAMES);
        // The router learnt the gateway's SNAT address from the gateway's Neighbor Advertisement.
        assertThat(Shell.okIn(routed.router, "ip", "-6", "neigh", "show", NetnsTopology.SNAT6, "dev", "r0"))
            .contains("lladdr");
        assertThat(gw.drops("no_route")).isZero();
        assertThat(gw.isAlive()).isTrue();
      }
    }
  }

  private void assertSpreadAsMaglevSays(int firstPort) {
    int flows = 24;
    String script = "for p in $(seq " + firstPort + " " + (firstPort + flows - 1) + "); do "
        + "printf '%s ' $p; curl -6 -s --max-time 3 --local-port $p 'http://[" + VIP6 + "]/who.txt' || echo FAILED; done";
    // The first SYN may be dropped while the gateway resolves the backend (Neighbor Solicitation); curl's
    // connect retransmits it, within its 3 s.
    String out = Shell.okIn(topo.client, "sh", "-c", script);
    GatewayConfig expected = GatewayConfig.builder()
        .addInterface(GatewayConfig.Interface.of(0, NetnsTopology.GATEWAY_OUTSIDE + "/24", "02:00:00:00:00:01", null))
        .addSnatAddress(NetnsTopology.SNAT)
        .addInterface6(Ipv6Config.Interface6.of(0, NetnsTopology.GATEWAY_OUTSIDE6 + "/64"))
        .addSnatAddress6(NetnsTopology.SNAT6)
        .addVip6(new Ipv6Config.Vip6("web-vip", Ipv6.Address.parse(VIP6), 80, 6, List.of(
            Ipv6Config.Backend6.of(BACKENDS6[0], 8080, 1), Ipv6Config.Backend6.of(BACKENDS6[1], 8080, 1))))
        .build();
    Map<Integer, String> seen = new HashMap<>();
    for (String line : out.trim().split("\n")) {
      String[] parts = line.trim().split("\\s+");
      seen.put(Integer.parseInt(parts[0]), parts.length > 1 ? parts[1] : "EMPTY");
    }
    assertThat(seen).hasSize(flows);
    Ipv6.Address client = Ipv6.Address.parse(CLIENT_IP6);
    Ipv6.Address vip = Ipv6.Address.parse(VIP6);
    Set<String> backendsSeen = new HashSet<>();
    List<String> mismatches = new ArrayList<>();
    for (Map.Entry<Integer, String> e : seen.entrySet()) {
      long hash = MaglevTable.hash5(client.hi(), client.lo(), vip.hi(), vip.lo(), e.getKey(), 80, 6);
      String predicted = NAMES[expected.ipv6().maglev(0).lookup(hash)];
      if (!predicted.equals(e.getValue())) {
        mismatches.add("port " + e.getKey() + ": got " + e.getValue() + ", Maglev says " + predicted);
      }
      backendsSeen.add(e.getValue());
    }
    assertThat(mismatches).isEmpty();
    assertThat(backendsSeen).containsExactlyInAnyOrder(NAMES);
  }

  private void assertRemovedBackendKeepsItsEstablishedFlow(GatewayProcess gw) throws Exception {
    GatewayNetnsTestSupport.assertEstablishedFlowSurvivesRemoval(topo, gw, VIP6, index -> {
      try {
        topo.writeBootstrapFor(VIP6, BACKENDS6[1 - index]);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, i -> Shell.okIn(topo.client, "curl", "-6", "-s", "--max-time", "3", "--local-port", String.valueOf(45000 + i),
        "http://[" + VIP6 + "]/who.txt").trim());
  }

  private void assertMalformedFramesAreCountedAndDropped(GatewayProcess gw) {
    long gatewayMac = BadFrames.parseMac(Shell.okIn(topo.gateway, "cat", "/sys/class/net/go/address"));
    long clientMac = BadFrames.parseMac(Shell.okIn(topo.client, "cat", "/sys/class/net/c0/address"));
    Map<String, byte[]> frames = new LinkedHashMap<>();
    byte[] good = syn6(gatewayMac, clientMac, 0);
    frames.put("truncated_ipv6", java.util.Arrays.copyOf(good, 14 + 39));
    byte[] badLength = good.clone();
    ByteBuffer.wrap(badLength).putShort(14 + 4, (short) 1400);
    frames.put("bad_ipv6_payload_length", badLength);
    frames.put("bad_ipv6_extension", syn6(gatewayMac, clientMac, 200)); // a destination-options header 1,608 bytes long
    frames.put("fragment", syn6(gatewayMac, clientMac, -1));
    byte[] shortTcp = good.clone();
    ByteBuffer.wrap(shortTcp).putShort(14 + 4, (short) 12);
    frames.put("truncated_tcp", shortTcp);
    GatewayNetnsTestSupport.assertDropsCounted(topo, gw, frames, 5);
  }

  /**
   * A TCP SYN from the client to the IPv6 VIP; with {@code extension} > 0 a destination-options header whose
   * length field is that (running past the packet), with -1 a fragment header first.
   */
  private static byte[] syn6(long dstMac, long srcMac, int extension) {
    Ipv6.Address src = Ipv6.Address.parse(CLIENT_IP6);
    Ipv6.Address dst = Ipv6.Address.parse(VIP6);
    int ext = extension == 0 ? 0 : 8;
    ByteBuffer b = ByteBuffer.allocate(14 + 40 + ext + 20);
    b.putShort((short) (dstMac >>> 32)).putInt((int) dstMac).putShort((short) (srcMac >>> 32)).putInt((int) srcMac);
    b.putShort((short) 0x86DD);
    int next = extension == 0 ? 6 : extension < 0 ? 44 : 60;
    b.putInt(0x6000_0000).putShort((short) (ext + 20)).put((byte) next).put((byte) 64);
    b.putLong(src.hi()).putLong(src.lo()).putLong(dst.hi()).putLong(dst.lo());
    if (extension < 0) {
      b.put((byte) 6).put((byte) 0).putShort((short) 1).putInt(0x1234); // more fragments, offset 0
    } else if (extension > 0) {
      b.put((byte) 6).put((byte) extension).putShort((short) 0).putInt(0);
    }
    b.putShort((short) 46000).putShort((short) 80).putInt(1).putInt(0).put((byte) 0x50).put((byte) 0x02)
        .putShort((short) 64240).putShort((short) 0).putShort((short) 0);
    return b.array();
  }
}
