package io.keelson.dataplane.packet;

import static io.keelson.dataplane.packet.GatewayHarness.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.packet.GatewayConfig.AclRule;
import io.keelson.dataplane.packet.GatewayConfig.Backend;
import org.junit.jupiter.api.Test;

/** ACL, SYN limit, ARP and ICMP answers, exception path, and the table bounds, through real stages. */
class ClassifyAndLocalTrafficTest {
  private static final int L3 = 14;
  private static final int L4 = 34;

  private static byte[] syn(String client, int port) {
    return TestPacket.tcp(client, port, TestGateway.VIP, 80, Tcp.SYN)
        .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes();
  }

  @Test
  void aclDeniesNewFlowsFromADeniedPrefixToADeniedPort() {
    GatewayConfig config = TestGateway.builder()
        .addAclRule(AclRule.of("203.0.113.0/24", 80, 80, false))
        .addAclRule(AclRule.of("0.0.0.0/0", 1, 65535, true))
        .build();
    GatewayHarness gw = new GatewayHarness(config).learnDefaultNeighbours();
    PacketBurst burst = gw.run(0, syn("203.0.113.9", 1234), syn("198.51.100.7", 1234),
        TestPacket.udp("203.0.113.9", 99, TestGateway.VIP, 53).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes());
    assertThat(burst.dropReason(0)).isEqualTo(DropReason.ACL_DENIED);
    assertThat(burst.verdict(1)).isEqualTo(1);
    assertThat(burst.verdict(2)).as("the deny rule covers port 80 only").isEqualTo(1);
    assertThat(gw.stages.dropCount(DropReason.ACL_DENIED)).isEqualTo(1);
  }

  @Test
  void defaultDenyAclLetsOnlyListedSourcesIn() {
    GatewayConfig config = TestGateway.builder()
        .addAclRule(AclRule.of("198.51.100.0/24", 80, 80, true))
        .aclDefaultAllow(false)
        .build();
    GatewayHarness gw = new GatewayHarness(config).learnDefaultNeighbours();
    PacketBurst burst = gw.run(0, syn("198.51.100.7", 1000), syn("198.51.101.7", 1000));
    assertThat(burst.verdict(0)).isEqualTo(1);
    assertThat(burst.dropReason(1)).isEqualTo(DropReason.ACL_DENIED);
  }

  @Test
  void synFloodFromOneSourceIsLimitedWhileOtherSourcesPass() {
    GatewayConfig config = TestGateway.builder().limits(GatewayLimits.defaults().withSynRate(10, 5)).build();
    GatewayHarness gw = new GatewayHarness(config).learnDefaultNeighbours();
    byte[][] flood = new byte[20][];
    for (int i = 0; i < 20; i++) {
      flood[i] = syn("198.51.100.66", 30_000 + i);
    }
    PacketBurst burst = gw.run(0, flood);
    int passed = 0;
    for (int i = 0; i < 20; i++) {
      if (burst.verdict(i) == 1) {
        passed++;
      } else {
        assertThat(burst.dropReason(i)).isEqualTo(DropReason.SYN_RATE_LIMITED);
      }
    }
    assertThat(passed).isEqualTo(5);
    assertThat(gw.run(0, syn("198.51.100.67", 30_000)).verdict(0)).as("another source").isEqualTo(1);

    gw.now += SECOND / 2; // refills 5 tokens at 10/s
    byte[][] more = new byte[8][];
    for (int i = 0; i < 8; i++) {
      more[i] = syn("198.51.100.66", 31_000 + i);
    }
    PacketBurst later = gw.run(0, more);
    int passedLater = 0;
    for (int i = 0; i < 8; i++) {
      passedLater += later.verdict(i) == 1 ? 1 : 0;
    }
    assertThat(passedLater).isEqualTo(5);
    assertThat(gw.stages.dropCount(DropReason.SYN_RATE_LIMITED)).isEqualTo(15 + 3);
  }

  @Test
  void arpWhoHasForTheVipIsAnsweredOnItsPortWithTheGatewayMac() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config());
    long asker = 0x02_AA_BB_CC_DD_EEL;
    byte[] request = TestPacket.arp(Arp.OP_REQUEST, asker, "192.0.2.50", 0, TestGateway.VIP, Ethernet.BROADCAST);
    PacketBurst burst = gw.run(0, request);
    assertThat(burst.verdict(0)).isEqualTo(0);
    PacketBuffer out = GatewayHarness.view(request);
    assertThat(out.getMac(Ethernet.DST)).isEqualTo(asker);
    assertThat(out.getMac(Ethernet.SRC)).isEqualTo(TestPacket.GW_MAC_0);
    assertThat(out.getShort(Ethernet.TYPE)).isEqualTo(Ethernet.TYPE_ARP);
    assertThat(out.getShort(L3 + Arp.OPER)).isEqualTo(Arp.OP_REPLY);
    assertThat(out.getMac(L3 + Arp.SHA)).isEqualTo(TestPacket.GW_MAC_0);
    assertThat(out.getInt(L3 + Arp.SPA)).isEqualTo(Ipv4.parse(TestGateway.VIP));
    assertThat(out.getMac(L3 + Arp.THA)).isEqualTo(asker);
    assertThat(out.getInt(L3 + Arp.TPA)).isEqualTo(Ipv4.parse("192.0.2.50"));
  }

  @Test
  void arpIsAnsweredOnlyOnThePortAnAddressBelongsTo() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config());
    long backendMac = TestGateway.backendMac(11);
    // The SNAT address lives in port 1's subnet: answered there, not on port 0.
    PacketBurst onBackendSide = gw.run(1, TestPacket.arp(Arp.OP_REQUEST, backendMac, "10.1.0.11", 0, TestGateway.SNAT, Ethernet.BROADCAST));
    assertThat(onBackendSide.verdict(0)).isEqualTo(1);
    PacketBurst onClientSide = gw.run(0, TestPacket.arp(Arp.OP_REQUEST, TestPacket.CLIENT_MAC, "192.0.2.50", 0, TestGateway.SNAT, Ethernet.BROADCAST));
    assertThat(onClientSide.dropReason(0)).isEqualTo(DropReason.ARP_NOT_FOR_US);
    // Own addresses on their own port only; strangers' addresses never.
    assertThat(gw.run(1, TestPacket.arp(Arp.OP_REQUEST, backendMac, "10.1.0.11", 0, TestGateway.GW_BACKEND_SIDE, Ethernet.BROADCAST)).verdict(0)).isEqualTo(1);
    assertThat(gw.run(0, TestPacket.arp(Arp.OP_REQUEST, TestPacket.CLIENT_MAC, "192.0.2.50", 0, TestGateway.GW_BACKEND_SIDE, Ethernet.BROADCAST)).dropReason(0))
        .isEqualTo(DropReason.ARP_NOT_FOR_US);
    assertThat(gw.run(0, TestPacket.arp(Arp.OP_REQUEST, TestPacket.CLIENT_MAC, "192.0.2.50", 0, "192.0.2.77", Ethernet.BROADCAST)).dropReason(0))
        .isEqualTo(DropReason.ARP_NOT_FOR_US);
  }

  @Test
  void aWhoHasForUsTeachesTheAskersMacSoNoRequestIsNeeded() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config());
    for (String ip : new String[] {"10.1.0.11", "10.1.0.12", "10.1.0.13"}) {
      gw.run(1, TestPacket.arp(Arp.OP_REQUEST, TestGateway.backendMac(Ipv4.parse(ip)), ip, 0, TestGateway.SNAT, Ethernet.BROADCAST));
    }
    gw.run(0, TestPacket.arp(Arp.OP_REQUEST, TestGateway.ROUTER_MAC, TestGateway.ROUTER, 0, TestGateway.VIP, Ethernet.BROADCAST));
    PacketBurst burst = gw.run(0, syn("198.51.100.7", 1000));
    assertThat(burst.verdict(0)).isEqualTo(1);
    assertThat(burst.extraCount()).isZero();
  }

  @Test
  void icmpEchoToTheVipAndToTheGatewayIsAnswered() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config());
    for (String target : new String[] {TestGateway.VIP, TestGateway.GW_CLIENT_SIDE}) {
      byte[] ping = TestPacket.icmpEcho("198.51.100.7", target).payload(56)
          .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).ttl(9).bytes();
      byte[] original = ping.clone();
      PacketBurst burst = gw.run(0, ping);
      assertThat(burst.verdict(0)).isEqualTo(0);
      PacketBuffer out = GatewayHarness.view(ping);
      assertThat(out.getMac(Ethernet.DST)).isEqualTo(TestGateway.ROUTER_MAC);
      assertThat(out.getMac(Ethernet.SRC)).isEqualTo(TestPacket.GW_MAC_0);
      assertThat(out.getInt(L3 + Ipv4.SRC)).isEqualTo(Ipv4.parse(target));
      assertThat(out.getInt(L3 + Ipv4.DST)).isEqualTo(Ipv4.parse("198.51.100.7"));
      assertThat(out.getByte(L3 + Ipv4.TTL)).isEqualTo(64);
      assertThat(out.getByte(L4 + Icmp.TYPE)).isEqualTo(Icmp.ECHO_REPLY);
      assertThat(out.getShort(L4 + Icmp.ID)).isEqualTo(0x4242);
      assertThat(out.getShort(L4 + Icmp.SEQUENCE)).isEqualTo(7);
      assertThat(java.util.Arrays.copyOfRange(ping, L4 + 8, L4 + 64))
          .isEqualTo(java.util.Arrays.copyOfRange(original, L4 + 8, L4 + 64));
      assertThat(TestPacket.checksumsValid(out, L3)).isTrue();
    }
  }

  @Test
  void otherTrafficForTheGatewayGoesToTheExceptionPathOrIsDroppedWithoutOne() {
    byte[] toProxy = TestPacket.tcp("198.51.100.7", 5555, TestGateway.GW_CLIENT_SIDE, 443, Tcp.SYN)
        .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes();
    byte[] copy = toProxy.clone();
    GatewayHarness gw = new GatewayHarness(TestGateway.config());
    assertThat(gw.run(0, toProxy).verdict(0)).isEqualTo(PacketBurst.TO_EXCEPTION);
    assertThat(toProxy).as("handed to the kernel unchanged").isEqualTo(copy);
    GatewayHarness closed = new GatewayHarness(TestGateway.builder().exceptionPath(false).build());
    assertThat(closed.run(0, copy).dropReason(0)).isEqualTo(DropReason.NO_EXCEPTION_PORT);
  }

  @Test
  void trafficThatIsNotOursIsDroppedWithItsReason() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    PacketBurst burst = gw.run(0,
        TestPacket.tcp("198.51.100.7", 1, "192.0.2.200", 80, Tcp.SYN).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes(),
        TestPacket.tcp("198.51.100.7", 1, TestGateway.VIP, 81, Tcp.SYN).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes(),
        TestPacket.tcp("198.51.100.7", 1, TestGateway.VIP, 80, Tcp.ACK).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes(),
        TestPacket.ip("198.51.100.7", TestGateway.VIP, 47).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes(),
        TestPacket.icmpEcho("198.51.100.7", TestGateway.VIP).icmpType(13).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes(),
        TestPacket.tcp("10.1.0.11", 8080, TestGateway.SNAT, 20_500, Tcp.ACK).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes());
    assertThat(burst.dropReason(0)).isEqualTo(DropReason.NOT_FOR_US);
    assertThat(burst.dropReason(1)).isEqualTo(DropReason.NO_VIP_LISTENER);
    assertThat(burst.dropReason(2)).isEqualTo(DropReason.NO_FLOW);
    assertThat(burst.dropReason(3)).isEqualTo(DropReason.UNSUPPORTED_PROTOCOL);
    assertThat(burst.dropReason(4)).isEqualTo(DropReason.ICMP_UNSUPPORTED);
    assertThat(burst.dropReason(5)).isEqualTo(DropReason.NO_FLOW);
    long[] counts = gw.stages.dropCounts();
    for (DropReason r : new DropReason[] {DropReason.NOT_FOR_US, DropReason.NO_VIP_LISTENER,
        DropReason.UNSUPPORTED_PROTOCOL, DropReason.ICMP_UNSUPPORTED}) {
      assertThat(counts[r.ordinal()]).as(r.label()).isEqualTo(1);
    }
    assertThat(counts[DropReason.NO_FLOW.ordinal()]).isEqualTo(2);
  }

  @Test
  void aBurstMixingVipsPortsAndProtocolsClassifiesEveryPacketByItsOwnTuple() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    // Consecutive packets to the same VIP address: the classifier remembers the last VIP lookup, which
    // must not leak to a packet whose port or protocol differs.
    PacketBurst burst = gw.run(0,
        syn("198.51.100.7", 1000),
        TestPacket.tcp("198.51.100.7", 1001, TestGateway.VIP, 81, Tcp.SYN).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes(),
        syn("198.51.100.7", 1002),
        TestPacket.udp("198.51.100.7", 1003, TestGateway.VIP, 80).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes(),
        TestPacket.udp("198.51.100.7", 1004, TestGateway.VIP, 53).macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes(),
        syn("198.51.100.7", 1005));
    assertThat(burst.verdict(0)).isEqualTo(1);
    assertThat(burst.dropReason(1)).isEqualTo(DropReason.NO_VIP_LISTENER);
    assertThat(burst.verdict(2)).isEqualTo(1);
    assertThat(burst.dropReason(3)).isEqualTo(DropReason.NO_VIP_LISTENER);
    assertThat(burst.verdict(4)).isEqualTo(1);
    assertThat(burst.verdict(5)).isEqualTo(1);
    assertThat(gw.stages.trackedFlows()).isEqualTo(4);
  }

  @Test
  void fullConnectionTableRefusesNewFlowsAndKeepsServingExistingOnes() {
    GatewayConfig config = TestGateway.builder().limits(GatewayLimits.defaults().withConntrackCapacity(2)).build();
    GatewayHarness gw = new GatewayHarness(config).learnDefaultNeighbours();
    PacketBurst burst = gw.run(0, syn("198.51.100.7", 1000), syn("198.51.100.7", 1001), syn("198.51.100.7", 1002));
    assertThat(burst.verdict(0)).isEqualTo(1);
    assertThat(burst.verdict(1)).isEqualTo(1);
    assertThat(burst.dropReason(2)).isEqualTo(DropReason.CONNTRACK_FULL);
    byte[] ack = TestPacket.tcp("198.51.100.7", 1000, TestGateway.VIP, 80, Tcp.ACK)
        .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes();
    assertThat(gw.run(0, ack).verdict(0)).isEqualTo(1);
    assertThat(gw.stages.dropCount(DropReason.CONNTRACK_FULL)).isEqualTo(1);
  }

  @Test
  void snatPortsRunOutPerBackendAndAreReportedAsExhausted() {
    GatewayConfig config = TestGateway.builder(Backend.of("10.1.0.11", 8080, 1))
        .limits(GatewayLimits.defaults().withSnatPorts(40_000, 40_001)).build();
    GatewayHarness gw = new GatewayHarness(config).learnNeighbours("10.1.0.11");
    PacketBurst burst = gw.run(0, syn("198.51.100.7", 1000), syn("198.51.100.7", 1001), syn("198.51.100.7", 1002));
    assertThat(burst.verdict(0)).isEqualTo(1);
    assertThat(burst.verdict(1)).isEqualTo(1);
    assertThat(burst.dropReason(2)).isEqualTo(DropReason.SNAT_EXHAUSTED);
    assertThat(java.util.Set.of(burst.packet(0).getShort(L4 + Tcp.SRC_PORT), burst.packet(1).getShort(L4 + Tcp.SRC_PORT)))
        .containsExactlyInAnyOrder(40_000, 40_001);
  }

  @Test
  void eachQueueHandsOutOnlyItsOwnSnatPortsSoReturnTrafficCanBeSteeredByPort() {
    GatewayConfig config = TestGateway.builder().limits(GatewayLimits.defaults().withSnatPorts(20_000, 20_063)).build();
    GatewayTables tables = new GatewayTables(config);
    long[] now = {1};
    GatewayStages stages = new GatewayStages(tables, () -> now[0]);
    for (int queue = 0; queue < 4; queue++) {
      var suppliers = stages.stagesForQueue(queue, 4, null);
      ParseStage parse = (ParseStage) suppliers.get(0).get();
      ClassifyStage classify = (ClassifyStage) suppliers.get(1).get();
      ForwardStage forward = (ForwardStage) suppliers.get(2).get();
      forward.learnArp(Ipv4.parse("10.1.0.11"), TestGateway.backendMac(11), 1);
      forward.learnArp(Ipv4.parse("10.1.0.12"), TestGateway.backendMac(12), 1);
      forward.learnArp(Ipv4.parse("10.1.0.13"), TestGateway.backendMac(13), 1);
      java.util.Set<Integer> ports = new java.util.HashSet<>();
      // 64 ports / 4 queues = 16 per queue and backend; 3 backends: 48 flows fit, the rest run out.
      int forwarded = 0;
      for (int c = 0; c < 60; c++) {
        PacketBurst burst = new PacketBurst(1);
        burst.setPacket(0, TestPacket.wrap(syn("198.51.100." + (c + 1), 1000 + queue)));
        burst.reset(1, 0);
        parse.onEvent(burst);
        classify.onEvent(burst);
        forward.onEvent(burst);
        if (burst.verdict(0) == 1) {
          forwarded++;
          int snatPort = burst.packet(0).getShort(L4 + Tcp.SRC_PORT);
          assertThat(snatPort & 3).as("queue %d's SNAT port %d", queue, snatPort).isEqualTo(queue);
          ports.add(snatPort);
        } else {
          assertThat(burst.dropReason(0)).isIn(DropReason.SNAT_EXHAUSTED, DropReason.SYN_RATE_LIMITED);
        }
      }
      assertThat(ports).hasSize(16).allMatch(p -> p >= 20_000 && p <= 20_063);
      assertThat(forwarded).isGreaterThan(16);
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> stages.stagesForQueue(1, 3, null))
        .hasMessageContaining("power of two");
  }

  @Test
  void vipWithoutWeightedBackendsDropsNewFlows() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config(Backend.of("10.1.0.11", 8080, 0)));
    assertThat(gw.run(0, syn("198.51.100.7", 1000)).dropReason(0)).isEqualTo(DropReason.NO_BACKEND);
  }
}
