package io.keelson.dataplane.gateway;

import static io.keelson.dataplane.gateway.NetnsTopology.BACKENDS;
import static io.keelson.dataplane.gateway.NetnsTopology.CLIENT_IP;
import static io.keelson.dataplane.gateway.NetnsTopology.NAMES;
import static io.keelson.dataplane.gateway.NetnsTopology.VIP;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.internal.ffm.TestEal;
import io.keelson.dataplane.packet.GatewayConfig;
import io.keelson.dataplane.packet.maglev.MaglevTable;
import io.keelson.testkit.Shell;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The gateway as a real process on net_af_packet between a client and a backend network namespace:
 * curl to the VIP, Maglev spread over source ports, established flows surviving a backend's removal,
 * the exception path to the kernel, and malformed frames from a raw socket counted and dropped.
 * Needs root, DPDK (the shim built), ip, ethtool, curl and python3; skipped with the reason otherwise.
 */
class GatewayNetnsTest {
  private static NetnsTopology topo;
  private static String skipReason;

  @BeforeAll
  static void topology() throws IOException {
    skipReason = GatewayNetnsTestSupport.skipReason();
    if (skipReason != null) {
      return;
    }
    topo = new NetnsTopology();
    topo.awaitServers();
  }

  /** Every test is skipped with the reason (in the report and on stderr) when the machine cannot run it. */
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

  @Test
  void inlineGatewayBalancesByMaglevServesTheNodeThroughTheKernelAndDropsMalformedFrames() throws Exception {
    try (GatewayProcess gw = new GatewayProcess(topo, topo.writeBootstrap(BACKENDS), "inline")) {
      assertSpreadAsMaglevSays(40000);
      assertNodeAddressReachesTheKernel(gw);
      assertMalformedFramesAreCountedAndDropped(gw);
      // Still serving after all that.
      assertThat(curlVip(0)).isIn((Object[]) NAMES);
      assertThat(gw.isAlive()).isTrue();
    }
  }

  @Test
  void disruptorGatewayBalancesTheSameWay() throws Exception {
    try (GatewayProcess gw = new GatewayProcess(topo, topo.writeBootstrap(BACKENDS), "disruptor")) {
      assertSpreadAsMaglevSays(41000);
      assertThat(gw.metric("keelson_gateway_tx_packets{port=\"inside\"}")).isPositive();
    }
  }

  @Test
  void removingABackendKeepsEstablishedFlowsOnIt() throws Exception {
    try (GatewayProcess gw = new GatewayProcess(topo, topo.writeBootstrap(BACKENDS), "inline")) {
      GatewayNetnsTestSupport.assertEstablishedFlowSurvivesRemoval(topo, gw, VIP,
          index -> writeBootstrap(BACKENDS[1 - index]), i -> curlVip(42000 + i));
    }
  }

  private static void writeBootstrap(String... backends) {
    try {
      topo.writeBootstrap(backends);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private void assertSpreadAsMaglevSays(int firstPort) {
    int flows = 24;
    String script = "for p in $(seq " + firstPort + " " + (firstPort + flows - 1) + "); do "
        + "printf '%s ' $p; curl -s --max-time 3 --local-port $p http://" + VIP + "/who.txt || echo FAILED; done";
    String out = Shell.okIn(topo.client, "sh", "-c", script);
    GatewayConfig expected = GatewayConfig.builder()
        .addInterface(GatewayConfig.Interface.of(0, NetnsTopology.GATEWAY_OUTSIDE + "/24", "02:00:00:00:00:01", null))
        .addSnatAddress(NetnsTopology.SNAT)
        .addVip("web-vip", VIP, 80, 6, GatewayConfig.Backend.of(BACKENDS[0], 8080, 1),
            GatewayConfig.Backend.of(BACKENDS[1], 8080, 1))
        .build();
    Map<Integer, String> seen = new HashMap<>();
    for (String line : out.trim().split("\n")) {
      String[] parts = line.trim().split("\\s+");
      seen.put(Integer.parseInt(parts[0]), parts.length > 1 ? parts[1] : "EMPTY");
    }
    assertThat(seen).hasSize(flows);
    Set<String> backendsSeen = new HashSet<>();
    List<String> mismatches = new ArrayList<>();
    for (Map.Entry<Integer, String> e : seen.entrySet()) {
      long hash = MaglevTable.hash5(BadFrames.parseIp(CLIENT_IP), BadFrames.parseIp(VIP), e.getKey(), 80, 6);
      String predicted = NAMES[expected.maglev(0).lookup(hash)];
      if (!predicted.equals(e.getValue())) {
        mismatches.add("port " + e.getKey() + ": got " + e.getValue() + ", Maglev says " + predicted);
      }
      backendsSeen.add(e.getValue());
    }
    assertThat(mismatches).isEmpty();
    assertThat(backendsSeen).containsExactlyInAnyOrder(NAMES);
  }

  private void assertNodeAddressReachesTheKernel(GatewayProcess gw) throws IOException {
    // The node's own address lives on the kernel's TAP: a server there is reached through the gateway.
    await("tap " + topo.tap + " created").atMost(Duration.ofSeconds(10))
        .until(() -> Shell.run(Shell.in(topo.gateway, "ip", "link", "show", topo.tap), 5).exit() == 0);
    Shell.okIn(topo.gateway, "ip", "addr", "add", NetnsTopology.GATEWAY_OUTSIDE + "/24", "dev", topo.tap);
    Shell.okIn(topo.gateway, "ip", "link", "set", topo.tap, "up");
    java.nio.file.Path root = java.nio.file.Files.createDirectories(topo.dir.resolve("node"));
    java.nio.file.Files.writeString(root.resolve("who.txt"), "gateway-node\n");
    topo.startIn(topo.gateway, topo.dir.resolve("node.log"), NetnsTopology.python(), "-m", "http.server", "8081",
        "--bind", NetnsTopology.GATEWAY_OUTSIDE, "--directory", root.toString());
    await("node server through the exception path").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(300))
        .until(() -> Shell.run(Shell.in(topo.client, "curl", "-s", "--max-time", "2",
            "http://" + NetnsTopology.GATEWAY_OUTSIDE + ":8081/who.txt"), 10).out().trim().equals("gateway-node"));
    assertThat(gw.metric("keelson_gateway_exception_out_packets{port=\"outside\"}")).isPositive();
    assertThat(gw.metric("keelson_gateway_exception_in_packets{port=\"outside\"}")).isPositive();
  }

  private void assertMalformedFramesAreCountedAndDropped(GatewayProcess gw) {
    long gatewayMac = BadFrames.parseMac(Shell.okIn(topo.gateway, "cat", "/sys/class/net/go/address"));
    long clientMac = BadFrames.parseMac(Shell.okIn(topo.client, "cat", "/sys/class/net/c0/address"));
    byte[] good = BadFrames.synToVip(gatewayMac, clientMac, BadFrames.parseIp(CLIENT_IP), BadFrames.parseIp(VIP));
    Map<String, byte[]> frames = Map.of(
        "truncated_ipv4", BadFrames.truncatedIpv4(good),
        "bad_ihl", BadFrames.badIhl(good),
        "bad_total_length", BadFrames.badTotalLength(good),
        "bad_ip_checksum", BadFrames.badIpChecksum(good),
        // No "fragment" here: DPDK's af_packet PMD joins a fanout group with PACKET_FANOUT_FLAG_DEFRAG,
        // so the kernel holds lone fragments for reassembly and they never reach the gateway on this
        // device. The parser's fragment drop is covered by the packet unit tests.
        "truncated_tcp", BadFrames.truncatedTcp(good));
    GatewayNetnsTestSupport.assertDropsCounted(topo, gw, frames, 5);
  }

  private String curlVip(int localPort) {
    List<String> cmd = new ArrayList<>(List.of("curl", "-s", "--max-time", "3"));
    if (localPort > 0) {
      cmd.addAll(List.of("--local-port", String.valueOf(localPort)));
    }
    cmd.add("http://" + VIP + "/who.txt");
    return Shell.okIn(topo.client, cmd.toArray(new String[0])).trim();
  }
}
