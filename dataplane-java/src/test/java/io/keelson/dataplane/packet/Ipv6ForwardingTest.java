package io.keelson.dataplane.packet;

import static io.keelson.dataplane.packet.TestGateway6.BACKENDS;
import static io.keelson.dataplane.packet.TestGateway6.CLIENT;
import static io.keelson.dataplane.packet.TestGateway6.CLIENT_MAC;
import static io.keelson.dataplane.packet.TestGateway6.GW_BACKEND_SIDE;
import static io.keelson.dataplane.packet.TestGateway6.GW_CLIENT_SIDE;
import static io.keelson.dataplane.packet.TestGateway6.SNAT;
import static io.keelson.dataplane.packet.TestGateway6.VIP;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.packet.maglev.MaglevTable;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The IPv6 gateway through real Parse → Classify → Forward stages: NDP, echo, Maglev, conntrack, NAT66, ACL, SYN limit. */
class Ipv6ForwardingTest {
  private static final int L3 = 14;
  private static final int L4 = L3 + 40;

  private static Ipv6.Address ip(String text) {
    return Ipv6.Address.parse(text);
  }

  private static GatewayHarness resolved(GatewayConfig config) {
    GatewayHarness h = new GatewayHarness(config);
    h.forward.learnNeighbour(ip(CLIENT), CLIENT_MAC, h.now);
    for (String b : BACKENDS) {
      h.forward.learnNeighbour(ip(b), TestGateway6.backendMac(b), h.now);
    }
    return h;
  }

  private static int expectedBackend(GatewayConfig config, int vip, int sport) {
    Ipv6.Address c = ip(CLIENT);
    Ipv6.Address v = ip(VIP);
    return config.ipv6().maglev(vip).lookup(MaglevTable.hash5(c.hi(), c.lo(), v.hi(), v.lo(), sport, 80, Ipv4.PROTO_TCP));
  }

  @Test
  void answersNeighborSolicitationsForItsOwnVipAndSnatAddresses() {
    GatewayHarness h = new GatewayHarness(TestGateway6.config());
    for (String[] c : new String[][] {{"0", GW_CLIENT_SIDE}, {"0", VIP}, {"1", SNAT}, {"1", GW_BACKEND_SIDE}}) {
      int port = Integer.parseInt(c[0]);
      long ourMac = port == 0 ? TestPacket.GW_MAC_0 : TestPacket.GW_MAC_1;
      byte[] frame = TestPacket6.solicitation(CLIENT, CLIENT_MAC, c[1]).bytes();
      PacketBurst burst = h.run(port, frame);
      assertThat(burst.verdict(0)).as(c[1]).isEqualTo(port);
      PacketBuffer na = burst.packet(0);
      assertThat(na.getMac(Ethernet.DST)).isEqualTo(CLIENT_MAC);
      assertThat(na.getMac(Ethernet.SRC)).isEqualTo(ourMac);
      assertThat(TestPacket6.address(na, L3 + Ipv6.SRC)).isEqualTo(ip(c[1]));
      assertThat(TestPacket6.address(na, L3 + Ipv6.DST)).isEqualTo(ip(CLIENT));
      assertThat(na.getByte(L3 + Ipv6.HOP_LIMIT)).isEqualTo(255);
      assertThat(na.getByte(L4)).isEqualTo(NeighbourDiscovery.NEIGHBOR_ADVERTISEMENT);
      assertThat(na.getByte(L4 + NeighbourDiscovery.FLAGS)).isEqualTo(NeighbourDiscovery.SOLICITED | NeighbourDiscovery.OVERRIDE);
      assertThat(TestPacket6.address(na, L4 + NeighbourDiscovery.TARGET)).isEqualTo(ip(c[1]));
      assertThat(na.getByte(L4 + NeighbourDiscovery.OPTIONS)).isEqualTo(NeighbourDiscovery.OPTION_TARGET_MAC);
      assertThat(na.getMac(L4 + NeighbourDiscovery.OPTIONS + 2)).isEqualTo(ourMac);
      assertThat(na.length()).isEqualTo(L4 + 32);
      assertThat(TestPacket6.checksumValid(na)).isTrue();
    }
  }

  @Test
  void ignoresSolicitationsNotForUsAndMalformedOnes() {
    GatewayHarness h = new GatewayHarness(TestGateway6.config());
    assertThat(h.run(0, TestPacket6.solicitation(CLIENT, CLIENT_MAC, "2001:db8:1::99").bytes()).dropReason(0))
        .isEqualTo(DropReason.NDP_NOT_FOR_US);
    // The SNAT address lives on the backend side: not answered on the client side.
    assertThat(h.run(0, TestPacket6.solicitation(CLIENT, CLIENT_MAC, SNAT).bytes()).dropReason(0))
        .isEqualTo(DropReason.NDP_NOT_FOR_US);
    assertThat(h.run(0, TestPacket6.solicitation("::", CLIENT_MAC, GW_CLIENT_SIDE).bytes()).dropReason(0))
        .as("duplicate address detection probe with a source link-layer option (RFC 4861 §7.1.1)")
        .isEqualTo(DropReason.MALFORMED_NDP);
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, "2001:db8:1::99")).dropReason(0))
        .as("duplicate address detection for an address not ours").isEqualTo(DropReason.NDP_NOT_FOR_US);
    assertThat(h.run(0, TestPacket6.solicitation(CLIENT, CLIENT_MAC, GW_CLIENT_SIDE).hopLimit(64).bytes()).dropReason(0))
        .isEqualTo(DropReason.MALFORMED_NDP);
    byte[] zeroOption = TestPacket6.solicitation(CLIENT, CLIENT_MAC, GW_CLIENT_SIDE).bytes();
    TestPacket.wrap(zeroOption).putByte(L4 + NeighbourDiscovery.OPTIONS + 1, 0);
    assertThat(h.run(0, zeroOption).dropReason(0)).isEqualTo(DropReason.MALFORMED_NDP);
    assertThat(h.run(0, TestPacket6.advertisement(BACKENDS[0], 0x0200_0000_0099L, GW_CLIENT_SIDE, TestPacket.GW_MAC_0)
        .bytes()).dropReason(0)).as("unsolicited advertisement").isEqualTo(DropReason.NDP_NOT_FOR_US);
  }

  @Test
  void answersEchoRequestsToItsAddresses() {
    GatewayHarness h = new GatewayHarness(TestGateway6.config());
    PacketBurst burst = h.run(0, TestPacket6.echoRequest(CLIENT, VIP).bytes());
    assertThat(burst.verdict(0)).isZero();
    PacketBuffer reply = burst.packet(0);
    assertThat(reply.getByte(L4)).isEqualTo(NeighbourDiscovery.ECHO_REPLY);
    assertThat(TestPacket6.address(reply, L3 + Ipv6.SRC)).isEqualTo(ip(VIP));
    assertThat(TestPacket6.address(reply, L3 + Ipv6.DST)).isEqualTo(ip(CLIENT));
    assertThat(reply.getMac(Ethernet.DST)).isEqualTo(CLIENT_MAC);
    assertThat(TestPacket6.checksumValid(reply)).isTrue();
    assertThat(h.run(0, TestPacket6.echoRequest(CLIENT, "2001:db8:9::1").bytes()).dropReason(0))
        .isEqualTo(DropReason.NOT_FOR_US);
  }

  @Test
  void resolvesTheBackendWithASolicitationThenForwardsWithNat66() {
    GatewayConfig config = TestGateway6.config();
    GatewayHarness h = new GatewayHarness(config);
    h.forward.learnNeighbour(ip(CLIENT), CLIENT_MAC, h.now);
    int sport = 40001;
    String backend = BACKENDS[expectedBackend(config, 0, sport)];

    PacketBurst first = h.run(0, TestPacket6.tcp(CLIENT, sport, VIP, 80, Tcp.SYN).bytes());
    assertThat(first.dropReason(0)).isEqualTo(DropReason.NDP_UNRESOLVED);
    assertThat(first.extraCount()).isEqualTo(1);
    assertThat(first.extraPort(0)).isEqualTo(1);
    PacketBuffer ns = first.extra(0);
    assertThat(ns.length()).isEqualTo(NeighbourDiscovery.SOLICITATION_FRAME);
    assertThat(ns.getMac(Ethernet.DST)).isEqualTo(Ipv6.multicastMac(Ipv6.solicitedNodeLo(ip(backend).lo())));
    assertThat(TestPacket6.address(ns, L3 + Ipv6.SRC)).isEqualTo(ip(GW_BACKEND_SIDE));
    assertThat(TestPacket6.address(ns, L4 + NeighbourDiscovery.TARGET)).isEqualTo(ip(backend));
    assertThat(ns.getMac(L4 + NeighbourDiscovery.OPTIONS + 2)).isEqualTo(TestPacket.GW_MAC_1);
    assertThat(TestPacket6.checksumValid(ns)).isTrue();
    // Rate-limited: a second SYN within the retry interval sends no second solicitation.
    assertThat(h.run(0, TestPacket6.tcp(CLIENT, sport, VIP, 80, Tcp.SYN).bytes()).extraCount()).isZero();

    long backendMac = TestGateway6.backendMac(backend);
    assertThat(h.run(1, TestPacket6.advertisement(backend, backendMac, GW_BACKEND_SIDE, TestPacket.GW_MAC_1).bytes())
        .verdict(0)).isEqualTo(PacketBurst.CONSUMED);

    PacketBurst syn = h.run(0, TestPacket6.tcp(CLIENT, sport, VIP, 80, Tcp.SYN).payload(16).bytes());
    assertThat(syn.verdict(0)).isEqualTo(1);
    PacketBuffer out = syn.packet(0);
    assertThat(out.getMac(Ethernet.DST)).isEqualTo(backendMac);
    assertThat(out.getMac(Ethernet.SRC)).isEqualTo(TestPacket.GW_MAC_1);
    assertThat(TestPacket6.address(out, L3 + Ipv6.SRC)).isEqualTo(ip(SNAT));
    assertThat(TestPacket6.address(out, L3 + Ipv6.DST)).isEqualTo(ip(backend));
    assertThat(out.getByte(L3 + Ipv6.HOP_LIMIT)).isEqualTo(63);
    int snatPort = out.getShort(L4 + Tcp.SRC_PORT);
    assertThat(snatPort).isBetween(config.limits().snatPortLow(), config.limits().snatPortHigh());
    assertThat(out.getShort(L4 + Tcp.DST_PORT)).isEqualTo(8080);
    assertThat(TestPacket6.checksumValid(out)).isTrue();

    // The backend's answer goes back to the client as from the VIP.
    PacketBurst back = h.run(1, TestPacket6.tcp(backend, 8080, SNAT, snatPort, Tcp.SYN | Tcp.ACK).payload(5)
        .macs(backendMac, TestPacket.GW_MAC_1).bytes());
    assertThat(back.verdict(0)).isZero();
    PacketBuffer in = back.packet(0);
    assertThat(in.getMac(Ethernet.DST)).isEqualTo(CLIENT_MAC);
    assertThat(TestPacket6.address(in, L3 + Ipv6.SRC)).isEqualTo(ip(VIP));
    assertThat(TestPacket6.address(in, L3 + Ipv6.DST)).isEqualTo(ip(CLIENT));
    assertThat(in.getShort(L4 + Tcp.SRC_PORT)).isEqualTo(80);
    assertThat(in.getShort(L4 + Tcp.DST_PORT)).isEqualTo(sport);
    assertThat(TestPacket6.checksumValid(in)).isTrue();
    assertThat(h.stages.trackedFlows()).isEqualTo(1);
  }

  @Test
  void spreadsSourcePortsAsMaglevSaysAndKeepsEstablishedFlowsWhenABackendIsRemoved() {
    GatewayConfig config = TestGateway6.config();
    GatewayHarness h = resolved(config);
    Set<String> seen = new HashSet<>();
    int[] backendOf = new int[64];
    for (int k = 0; k < 64; k++) {
      PacketBurst b = h.run(0, TestPacket6.tcp(CLIENT, 42000 + k, VIP, 80, Tcp.SYN).bytes());
      assertThat(b.verdict(0)).isEqualTo(1);
      String to = TestPacket6.address(b.packet(0), L3 + Ipv6.DST).toString();
      backendOf[k] = java.util.Arrays.asList(BACKENDS).indexOf(to);
      assertThat(backendOf[k]).as("port " + (42000 + k)).isEqualTo(expectedBackend(config, 0, 42000 + k));
      seen.add(to);
    }
    assertThat(seen).hasSize(3);

    // Drop backend 0 from the config: its flows stay on it; new flows avoid it.
    h.tables.update(TestGateway6.config(BACKENDS[1], BACKENDS[2]));
    for (int k = 0; k < 64; k++) {
      PacketBurst b = h.run(0, TestPacket6.tcp(CLIENT, 42000 + k, VIP, 80, Tcp.ACK).bytes());
      assertThat(TestPacket6.address(b.packet(0), L3 + Ipv6.DST)).isEqualTo(ip(BACKENDS[backendOf[k]]));
    }
    for (int k = 0; k < 32; k++) {
      PacketBurst b = h.run(0, TestPacket6.tcp(CLIENT, 43000 + k, VIP, 80, Tcp.SYN).bytes());
      assertThat(TestPacket6.address(b.packet(0), L3 + Ipv6.DST)).isNotEqualTo(ip(BACKENDS[0]));
    }
  }

  @Test
  void udpFlowsAreTrackedAndReturnTrafficNeedsAFlow() {
    GatewayHarness h = resolved(TestGateway6.config());
    PacketBurst q = h.run(0, TestPacket6.udp(CLIENT, 5353, VIP, 53).payload(20).bytes());
    assertThat(q.verdict(0)).isEqualTo(1);
    assertThat(TestPacket6.checksumValid(q.packet(0))).isTrue();
    String backend = TestPacket6.address(q.packet(0), L3 + Ipv6.DST).toString();
    int snatPort = q.packet(0).getShort(L4 + Udp.SRC_PORT);
    PacketBurst a = h.run(1, TestPacket6.udp(backend, 8080, SNAT, snatPort).payload(7)
        .macs(TestGateway6.backendMac(backend), TestPacket.GW_MAC_1).bytes());
    assertThat(a.dropReason(0)).isNull();
    assertThat(a.verdict(0)).isZero();
    assertThat(TestPacket6.checksumValid(a.packet(0))).isTrue();
    assertThat(h.run(1, TestPacket6.udp(backend, 8080, SNAT, snatPort + 1)
        .macs(TestGateway6.backendMac(backend), TestPacket.GW_MAC_1).bytes()).dropReason(0))
        .isEqualTo(DropReason.NO_FLOW);
    assertThat(h.run(0, TestPacket6.tcp(CLIENT, 999, VIP, 80, Tcp.ACK).bytes()).dropReason(0))
        .isEqualTo(DropReason.NO_FLOW);
    assertThat(h.run(0, TestPacket6.tcp(CLIENT, 999, VIP, 81, Tcp.SYN).bytes()).dropReason(0))
        .isEqualTo(DropReason.NO_VIP_LISTENER);
    assertThat(h.run(0, TestPacket6.tcp(CLIENT, 999, VIP, 80, Tcp.SYN).hopLimit(1).bytes()).dropReason(0))
        .isEqualTo(DropReason.TTL_EXPIRED);
  }

  @Test
  void aclAndSynLimitApplyToIpv6Sources() {
    GatewayConfig config = TestGateway6.builder()
        .addAclRule6(Ipv6Config.AclRule6.of("2001:db8:1::/64", 80, 80, false))
        .limits(GatewayLimits.defaults().withSynRate(1, 2))
        .build();
    GatewayHarness h = resolved(config);
    assertThat(h.run(0, TestPacket6.tcp(CLIENT, 1000, VIP, 80, Tcp.SYN).bytes()).dropReason(0))
        .isEqualTo(DropReason.ACL_DENIED);
    assertThat(h.run(0, TestPacket6.udp(CLIENT, 1000, VIP, 53).bytes()).verdict(0)).isEqualTo(1);

    GatewayHarness limited = resolved(TestGateway6.builder().limits(GatewayLimits.defaults().withSynRate(1, 2)).build());
    assertThat(limited.run(0, TestPacket6.tcp(CLIENT, 1001, VIP, 80, Tcp.SYN).bytes()).verdict(0)).isEqualTo(1);
    assertThat(limited.run(0, TestPacket6.tcp(CLIENT, 1002, VIP, 80, Tcp.SYN).bytes()).verdict(0)).isEqualTo(1);
    assertThat(limited.run(0, TestPacket6.tcp(CLIENT, 1003, VIP, 80, Tcp.SYN).bytes()).dropReason(0))
        .isEqualTo(DropReason.SYN_RATE_LIMITED);
    // Another /64 has its own bucket (it passes the limiter; off-link, it then has no route).
    assertThat(limited.run(0, TestPacket6.tcp("2001:db8:1:5::7", 1004, VIP, 80, Tcp.SYN).bytes()).dropReason(0))
        .isEqualTo(DropReason.NO_ROUTE);
  }

  @Test
  void withoutIpv6AddressesIpv6IsDroppedAsUnsupported() {
    GatewayHarness h = new GatewayHarness(TestGateway.config());
    PacketBurst b = h.run(0, TestPacket6.tcp(CLIENT, 1, VIP, 80, Tcp.SYN).bytes());
    assertThat(b.dropReason(0)).isEqualTo(DropReason.IPV6_UNSUPPORTED);
    assertThat(h.stages.dropCount(DropReason.IPV6_UNSUPPORTED)).isEqualTo(1);
  }

  @Test
  void ipv4AndIpv6InOneBurstAreEachForwarded() {
    GatewayHarness h = resolved(TestGateway6.config()).learnDefaultNeighbours();
    PacketBurst b = h.run(0, TestPacket.tcp("198.51.100.7", 40000, TestGateway.VIP, 80, Tcp.SYN).macs(
        TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes(), TestPacket6.tcp(CLIENT, 40000, VIP, 80, Tcp.SYN).bytes());
    assertThat(b.verdict(0)).isEqualTo(1);
    assertThat(b.verdict(1)).isEqualTo(1);
    assertThat(h.stages.trackedFlows()).isEqualTo(2);
  }

  @Test
  void defendsItsAddressesAgainstDuplicateAddressDetectionWithAnAdvertisementToAllNodes() {
    GatewayHarness h = new GatewayHarness(TestGateway6.config());
    for (String[] c : new String[][] {{"0", GW_CLIENT_SIDE}, {"0", VIP}, {"1", SNAT}}) {
      int port = Integer.parseInt(c[0]);
      long ourMac = port == 0 ? TestPacket.GW_MAC_0 : TestPacket.GW_MAC_1;
      PacketBurst burst = h.run(port, TestPacket6.dadProbe(CLIENT_MAC, c[1]));
      assertThat(burst.verdict(0)).as(c[1]).isEqualTo(port);
      PacketBuffer na = burst.packet(0);
      assertThat(na.getMac(Ethernet.DST)).isEqualTo(0x3333_0000_0001L);
      assertThat(na.getMac(Ethernet.SRC)).isEqualTo(ourMac);
      assertThat(TestPacket6.address(na, L3 + Ipv6.SRC)).isEqualTo(ip(c[1]));
      assertThat(TestPacket6.address(na, L3 + Ipv6.DST)).isEqualTo(ip("ff02::1"));
      assertThat(na.getByte(L3 + Ipv6.HOP_LIMIT)).isEqualTo(255);
      assertThat(na.getShort(L3 + Ipv6.PAYLOAD_LENGTH)).isEqualTo(32);
      assertThat(na.getByte(L4)).isEqualTo(NeighbourDiscovery.NEIGHBOR_ADVERTISEMENT);
      assertThat(na.getByte(L4 + NeighbourDiscovery.FLAGS)).as("override, not solicited").isEqualTo(NeighbourDiscovery.OVERRIDE);
      assertThat(TestPacket6.address(na, L4 + NeighbourDiscovery.TARGET)).isEqualTo(ip(c[1]));
      assertThat(na.getByte(L4 + NeighbourDiscovery.OPTIONS)).isEqualTo(NeighbourDiscovery.OPTION_TARGET_MAC);
      assertThat(na.getMac(L4 + NeighbourDiscovery.OPTIONS + 2)).isEqualTo(ourMac);
      assertThat(na.length()).isEqualTo(L4 + 32);
      assertThat(TestPacket6.checksumValid(na)).isTrue();
    }
    // One defence per address a second (each goes to the whole link); another address has its own.
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, GW_CLIENT_SIDE)).dropReason(0))
        .isEqualTo(DropReason.NDP_RATE_LIMITED);
    h.now += GatewayHarness.SECOND;
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, GW_CLIENT_SIDE)).verdict(0)).isZero();
    assertThat(h.stages.dropCount(DropReason.NDP_RATE_LIMITED)).isEqualTo(1);
    // The SNAT address is not on the client side's link: not defended there.
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, SNAT)).dropReason(0)).isEqualTo(DropReason.NDP_NOT_FOR_US);
  }

  /** The IPv6 flow table (megabytes) is built as the config with the first IPv6 VIP is published, not in a burst. */
  @Test
  void theFirstIpv6VipsFlowTableIsBuiltWhereTheConfigIsPublishedNotOnTheForwardingThread() throws Exception {
    GatewayHarness h = new GatewayHarness(TestGateway.config());
    GatewayConfig v6 = TestGateway6.config();
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    long tableBytes = threads.getCurrentThreadAllocatedBytes();
    new io.keelson.dataplane.packet.conntrack.ConnTrack6(Ipv6Forwarder.capacityFor(v6.limits()));
    tableBytes = threads.getCurrentThreadAllocatedBytes() - tableBytes;
    java.util.concurrent.atomic.AtomicLong burstBytes = new java.util.concurrent.atomic.AtomicLong();
    byte[] probe = TestPacket6.dadProbe(CLIENT_MAC, GW_CLIENT_SIDE);
    Thread control = Thread.ofPlatform().start(() -> h.tables.update(v6));
    control.join();
    long before = threads.getCurrentThreadAllocatedBytes(); // this thread forwards
    PacketBurst burst = h.run(0, probe);
    burstBytes.set(threads.getCurrentThreadAllocatedBytes() - before);
    assertThat(burst.verdict(0)).isZero();
    assertThat(burstBytes.get()).as("the burst that brought the VIP, against a %d-byte table", tableBytes)
        .isLessThan(tableBytes / 4);
  }

  @Test
  void aDadProbeMustGoToTheTargetsSolicitedNodeGroup() {
    GatewayHarness h = new GatewayHarness(TestGateway6.config());
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, GW_CLIENT_SIDE, "ff02::1")).dropReason(0))
        .as("to all nodes, not ff02::1:ff00:1 (RFC 4861 §7.1.1)").isEqualTo(DropReason.MALFORMED_NDP);
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, GW_CLIENT_SIDE, "ff02::1:ff00:2")).dropReason(0))
        .as("another address's group").isEqualTo(DropReason.MALFORMED_NDP);
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, GW_CLIENT_SIDE)).verdict(0)).isZero();
  }

  @Test
  void eachAddressHasItsOwnDefencePaceEvenWhenTheirHashesFold() {
    // 2001:db8::1:0:11 folds to the same 32 bits as the VIP 2001:db8::10 (low words 0x1 and 0x11 cancel to 0x10).
    String twin = "2001:db8::1:0:11";
    GatewayHarness h = new GatewayHarness(TestGateway6.builder().addVip6(new Ipv6Config.Vip6("twin",
        Ipv6.Address.parse(twin), 80, Ipv4.PROTO_TCP, List.of(Ipv6Config.Backend6.of(TestGateway6.BACKENDS[0], 8080, 1))))
        .build());
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, VIP)).verdict(0)).isZero();
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, twin)).verdict(0)).as("its own token").isZero();
    assertThat(h.run(0, TestPacket6.dadProbe(CLIENT_MAC, VIP)).dropReason(0)).isEqualTo(DropReason.NDP_RATE_LIMITED);
  }

  @Test
  void aSynOnAClosingFlowReopensItOnItsBackendWithTheEstablishedTimeout() {
    GatewayConfig config = TestGateway6.config();
    GatewayHarness h = resolved(config);
    int sport = 45000;
    PacketBurst syn = h.run(0, TestPacket6.tcp(CLIENT, sport, VIP, 80, Tcp.SYN).bytes());
    assertThat(syn.verdict(0)).isEqualTo(1);
    String backend = TestPacket6.address(syn.packet(0), L3 + Ipv6.DST).toString();
    int snatPort = syn.packet(0).getShort(L4 + Tcp.SRC_PORT);
    long backendMac = TestGateway6.backendMac(backend);
    assertThat(h.run(1, TestPacket6.tcp(backend, 8080, SNAT, snatPort, Tcp.SYN | Tcp.ACK)
        .macs(backendMac, TestPacket.GW_MAC_1).bytes()).verdict(0)).isZero();
    assertThat(h.run(0, TestPacket6.tcp(CLIENT, sport, VIP, 80, Tcp.FIN | Tcp.ACK).bytes()).verdict(0)).isEqualTo(1);

    // The client reuses its tuple: the SYN reopens the closing flow, on the same backend and SNAT port ...
    PacketBurst again = h.run(0, TestPacket6.tcp(CLIENT, sport, VIP, 80, Tcp.SYN).bytes());
    assertThat(again.verdict(0)).isEqualTo(1);
    assertThat(TestPacket6.address(again.packet(0), L3 + Ipv6.DST)).isEqualTo(ip(backend));
    assertThat(again.packet(0).getShort(L4 + Tcp.SRC_PORT)).isEqualTo(snatPort);
    assertThat(h.run(1, TestPacket6.tcp(backend, 8080, SNAT, snatPort, Tcp.SYN | Tcp.ACK)
        .macs(backendMac, TestPacket.GW_MAC_1).bytes()).verdict(0)).isZero();
    // ... and the backend's answer establishes it: idle past the closing timeout, it is still tracked.
    h.now += config.limits().tcpClosing().toNanos() + config.limits().tcpTransitory().toNanos() / 2;
    PacketBurst ack = h.run(0, TestPacket6.tcp(CLIENT, sport, VIP, 80, Tcp.ACK).bytes());
    assertThat(ack.dropReason(0)).isNull();
    assertThat(ack.verdict(0)).isEqualTo(1);
    assertThat(TestPacket6.address(ack.packet(0), L3 + Ipv6.DST)).isEqualTo(ip(backend));
    assertThat(h.stages.trackedFlows()).isEqualTo(1);
  }

  @Test
  void anIpv4OnlyGatewayHasNoIpv6FlowTableUntilAConfigBringsIpv6Vips() {
    GatewayHarness h = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    assertThat(h.run(0, TestPacket.tcp("198.51.100.7", 40000, TestGateway.VIP, 80, Tcp.SYN)
        .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes()).verdict(0)).isEqualTo(1);
    assertThat(h.forward.ipv6FlowCapacity()).isZero();

    // IPv6 addresses without IPv6 VIPs: NDP and echo work, still no flow table; return traffic has no flow.
    h.tables.update(TestGateway.builder()
        .addInterface6(Ipv6Config.Interface6.of(0, GW_CLIENT_SIDE + "/64"))
        .addInterface6(Ipv6Config.Interface6.of(1, GW_BACKEND_SIDE + "/64"))
        .addSnatAddress6(SNAT)
        .build());
    assertThat(h.run(0, TestPacket6.echoRequest(CLIENT, GW_CLIENT_SIDE).bytes()).verdict(0)).isZero();
    assertThat(h.run(1, TestPacket6.tcp(BACKENDS[0], 8080, SNAT, GatewayLimits.defaults().snatPortLow(), Tcp.SYN | Tcp.ACK)
        .macs(TestGateway6.backendMac(BACKENDS[0]), TestPacket.GW_MAC_1).bytes()).dropReason(0))
        .isEqualTo(DropReason.NO_FLOW);
    assertThat(h.forward.ipv6FlowCapacity()).isZero();

    // A later config with IPv6 VIPs: the table is created at the next burst boundary and the VIP works.
    h.tables.update(TestGateway6.config());
    h.forward.learnNeighbour(ip(CLIENT), CLIENT_MAC, h.now);
    for (String b : BACKENDS) {
      h.forward.learnNeighbour(ip(b), TestGateway6.backendMac(b), h.now);
    }
    assertThat(h.run(0, TestPacket6.tcp(CLIENT, 40001, VIP, 80, Tcp.SYN).bytes()).verdict(0)).isEqualTo(1);
    assertThat(h.forward.ipv6FlowCapacity()).isEqualTo(Ipv6Forwarder.capacityFor(TestGateway6.config().limits()));
    assertThat(h.stages.trackedFlows()).isEqualTo(2);
  }

  @Test
  void offLinkBackendsAreReachedThroughTheDefaultGatewayResolvedByNeighborDiscovery() {
    String router = "2001:db8:2::fe";
    long routerMac = 0x02_00_00_00_FE_01L;
    String[] backends = {"2001:db8:3::11", "2001:db8:3::12"};
    GatewayConfig config = TestGateway.builder()
        .addInterface6(Ipv6Config.Interface6.of(0, GW_CLIENT_SIDE + "/64"))
        .addInterface6(Ipv6Config.Interface6.of(1, GW_BACKEND_SIDE + "/64", router))
        .addSnatAddress6(SNAT)
        .addVip6(new Ipv6Config.Vip6("web6", ip(VIP), 80, Ipv4.PROTO_TCP, java.util.Arrays.stream(backends)
            .map(b -> Ipv6Config.Backend6.of(b, 8080, 1)).toList()))
        .build();
    GatewayHarness h = new GatewayHarness(config);
    h.forward.learnNeighbour(ip(CLIENT), CLIENT_MAC, h.now);

    PacketBurst first = h.run(0, TestPacket6.tcp(CLIENT, 46000, VIP, 80, Tcp.SYN).bytes());
    assertThat(first.dropReason(0)).isEqualTo(DropReason.NDP_UNRESOLVED);
    assertThat(first.extraCount()).isEqualTo(1);
    assertThat(first.extraPort(0)).isEqualTo(1);
    assertThat(TestPacket6.address(first.extra(0), L4 + NeighbourDiscovery.TARGET)).as("solicits the router")
        .isEqualTo(ip(router));
    assertThat(h.run(1, TestPacket6.advertisement(router, routerMac, GW_BACKEND_SIDE, TestPacket.GW_MAC_1).bytes())
        .verdict(0)).isEqualTo(PacketBurst.CONSUMED);

    PacketBurst syn = h.run(0, TestPacket6.tcp(CLIENT, 46000, VIP, 80, Tcp.SYN).bytes());
    assertThat(syn.verdict(0)).isEqualTo(1);
    PacketBuffer out = syn.packet(0);
    assertThat(out.getMac(Ethernet.DST)).as("the router's MAC").isEqualTo(routerMac);
    assertThat(out.getMac(Ethernet.SRC)).isEqualTo(TestPacket.GW_MAC_1);
    String backend = TestPacket6.address(out, L3 + Ipv6.DST).toString();
    assertThat(backend).isIn((Object[]) backends);
    assertThat(TestPacket6.address(out, L3 + Ipv6.SRC)).isEqualTo(ip(SNAT));
    assertThat(TestPacket6.checksumValid(out)).isTrue();
    int snatPort = out.getShort(L4 + Tcp.SRC_PORT);

    // The backend's answer arrives through the router and goes back to the on-link client.
    PacketBurst back = h.run(1, TestPacket6.tcp(backend, 8080, SNAT, snatPort, Tcp.SYN | Tcp.ACK)
        .macs(routerMac, TestPacket.GW_MAC_1).bytes());
    assertThat(back.verdict(0)).isZero();
    assertThat(back.packet(0).getMac(Ethernet.DST)).isEqualTo(CLIENT_MAC);
    assertThat(TestPacket6.address(back.packet(0), L3 + Ipv6.SRC)).isEqualTo(ip(VIP));

    // Without the router, the same backends have no route.
    GatewayHarness unrouted = new GatewayHarness(TestGateway.builder()
        .addInterface6(Ipv6Config.Interface6.of(0, GW_CLIENT_SIDE + "/64"))
        .addInterface6(Ipv6Config.Interface6.of(1, GW_BACKEND_SIDE + "/64"))
        .addSnatAddress6(SNAT)
        .addVip6(config.ipv6().vips().get(0))
        .build());
    assertThat(unrouted.run(0, TestPacket6.tcp(CLIENT, 46000, VIP, 80, Tcp.SYN).bytes()).dropReason(0))
        .isEqualTo(DropReason.NO_ROUTE);
  }

  @Test
  void aDefaultGatewayOffTheLinkIsRefusedNamingIt() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Ipv6Config.Interface6.of(1, GW_BACKEND_SIDE + "/64", "2001:db8:9::1"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("default gateway 2001:db8:9::1").hasMessageContaining("on-link");
    assertThat(Ipv6Config.Interface6.of(1, GW_BACKEND_SIDE + "/64", "fe80::1").defaultGateway()).isEqualTo(ip("fe80::1"));
  }
}
