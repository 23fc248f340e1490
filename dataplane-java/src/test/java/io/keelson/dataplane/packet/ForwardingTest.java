package io.keelson.dataplane.packet;

import static io.keelson.dataplane.packet.GatewayHarness.SECOND;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.packet.GatewayConfig.Backend;
import io.keelson.dataplane.packet.maglev.MaglevTable;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Client → VIP → backend and back, through real stages, asserting the exact bytes that leave. */
class ForwardingTest {
  private static final int L3 = 14;
  private static final int L4 = 34;
  private static final String CLIENT = "198.51.100.7";
  private static final int CLIENT_PORT = 40000;

  private static byte[] clientSyn(int port) {
    return TestPacket.tcp(CLIENT, port, TestGateway.VIP, 80, Tcp.SYN)
        .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).payload(0).bytes();
  }

  private static byte[] clientData(int port, int flags) {
    return TestPacket.tcp(CLIENT, port, TestGateway.VIP, 80, flags)
        .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).payload(100).bytes();
  }

  private static byte[] backendReply(int backendIp, int snatPort, int flags) {
    return TestPacket.tcp(Ipv4.format(backendIp), 8080, TestGateway.SNAT, snatPort, flags)
        .macs(TestGateway.backendMac(backendIp), TestPacket.GW_MAC_1).payload(50).bytes();
  }

  /** The backend and SNAT port the gateway chose for a client SYN it forwarded. */
  private record Opened(int backend, int snatPort) {}

  /** Sends the client's SYN (port {@link #CLIENT_PORT}) through {@code gw} and reads where it went. */
  private static Opened openFlow(GatewayHarness gw) {
    byte[] syn = clientSyn(CLIENT_PORT);
    gw.run(0, syn);
    PacketBuffer forwarded = GatewayHarness.view(syn);
    return new Opened(forwarded.getInt(L3 + Ipv4.DST), forwarded.getShort(L4 + Tcp.SRC_PORT));
  }

  private static int expectedBackend(GatewayConfig config, int clientPort) {
    long hash = MaglevTable.hash5(Ipv4.parse(CLIENT), Ipv4.parse(TestGateway.VIP), clientPort, 80, Ipv4.PROTO_TCP);
    return config.backendIp(0, config.maglev(0).lookup(hash));
  }

  @Test
  void synToVipIsTranslatedToTheMaglevBackendFromTheSnatAddress() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    byte[] frame = clientSyn(CLIENT_PORT);
    PacketBurst burst = gw.run(0, frame);

    assertThat(burst.verdict(0)).isEqualTo(1);
    PacketBuffer out = GatewayHarness.view(frame);
    int backend = expectedBackend(gw.tables.current(), CLIENT_PORT);
    assertThat(out.getMac(Ethernet.DST)).isEqualTo(TestGateway.backendMac(backend));
    assertThat(out.getMac(Ethernet.SRC)).isEqualTo(TestPacket.GW_MAC_1);
    assertThat(out.getInt(L3 + Ipv4.SRC)).isEqualTo(Ipv4.parse(TestGateway.SNAT));
    assertThat(out.getInt(L3 + Ipv4.DST)).isEqualTo(backend);
    assertThat(out.getByte(L3 + Ipv4.TTL)).isEqualTo(63);
    assertThat(out.getShort(L4 + Tcp.SRC_PORT)).isBetween(20_000, 60_999);
    assertThat(out.getShort(L4 + Tcp.DST_PORT)).isEqualTo(8080);
    assertThat(out.getByte(L4 + Tcp.FLAGS)).isEqualTo(Tcp.SYN);
    assertThat(TestPacket.checksumsValid(out, L3)).isTrue();
    assertThat(gw.stages.trackedFlows()).isEqualTo(1);
  }

  @Test
  void backendReplyIsTranslatedBackToTheClientFromTheVip() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    Opened flow = openFlow(gw);
    int backend = flow.backend();
    int snatPort = flow.snatPort();

    byte[] reply = backendReply(backend, snatPort, Tcp.SYN | Tcp.ACK);
    byte[] payloadBefore = java.util.Arrays.copyOfRange(reply, L4 + 20, L4 + 70);
    PacketBurst burst = gw.run(1, reply);

    assertThat(burst.verdict(0)).isEqualTo(0);
    PacketBuffer out = GatewayHarness.view(reply);
    assertThat(out.getMac(Ethernet.DST)).isEqualTo(TestGateway.ROUTER_MAC);
    assertThat(out.getMac(Ethernet.SRC)).isEqualTo(TestPacket.GW_MAC_0);
    assertThat(out.getInt(L3 + Ipv4.SRC)).isEqualTo(Ipv4.parse(TestGateway.VIP));
    assertThat(out.getInt(L3 + Ipv4.DST)).isEqualTo(Ipv4.parse(CLIENT));
    assertThat(out.getShort(L4 + Tcp.SRC_PORT)).isEqualTo(80);
    assertThat(out.getShort(L4 + Tcp.DST_PORT)).isEqualTo(CLIENT_PORT);
    assertThat(out.getByte(L3 + Ipv4.TTL)).isEqualTo(63);
    assertThat(java.util.Arrays.copyOfRange(reply, L4 + 20, L4 + 70)).isEqualTo(payloadBefore);
    assertThat(TestPacket.checksumsValid(out, L3)).isTrue();

    // The client's next segment follows the same flow.
    byte[] ack = clientData(CLIENT_PORT, Tcp.ACK | Tcp.PSH);
    assertThat(gw.run(0, ack).verdict(0)).isEqualTo(1);
    assertThat(GatewayHarness.view(ack).getInt(L3 + Ipv4.DST)).isEqualTo(backend);
    assertThat(GatewayHarness.view(ack).getShort(L4 + Tcp.SRC_PORT)).isEqualTo(snatPort);
    assertThat(TestPacket.checksumsValid(GatewayHarness.view(ack), L3)).isTrue();
  }

  @Test
  void establishedFlowKeepsItsBackendWhenTheBackendSetChanges() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    byte[] syn = clientSyn(CLIENT_PORT);
    gw.run(0, syn);
    int backend = GatewayHarness.view(syn).getInt(L3 + Ipv4.DST);
    gw.run(1, backendReply(backend, GatewayHarness.view(syn).getShort(L4 + Tcp.SRC_PORT), Tcp.SYN | Tcp.ACK));

    // New pool: the flow's backend is drained (weight 0) and a new one joins.
    Backend[] next = new Backend[3];
    int k = 0;
    for (String ip : new String[] {"10.1.0.11", "10.1.0.12", "10.1.0.13"}) {
      next[k++] = Backend.of(ip, 8080, Ipv4.parse(ip) == backend ? 0 : 1);
    }
    gw.tables.update(TestGateway.builder(next[0], next[1], next[2], Backend.of("10.1.0.14", 8080, 1)).build());
    gw.learnNeighbours("10.1.0.14");

    for (int round = 0; round < 3; round++) {
      byte[] data = clientData(CLIENT_PORT, Tcp.ACK);
      assertThat(gw.run(0, data).verdict(0)).isEqualTo(1);
      assertThat(GatewayHarness.view(data).getInt(L3 + Ipv4.DST)).isEqualTo(backend);
    }
    // New flows follow the new table and never reach the drained backend.
    for (int port = 50_000; port < 50_050; port++) {
      byte[] s = clientSyn(port);
      assertThat(gw.run(0, s).verdict(0)).isEqualTo(1);
      assertThat(GatewayHarness.view(s).getInt(L3 + Ipv4.DST))
          .isEqualTo(expectedBackend(gw.tables.current(), port)).isNotEqualTo(backend);
    }
  }

  @Test
  void idleFlowsExpireAfterTheirTimeoutOnTheInjectedClock() {
    // 64 flow slots and a 64-slot sweep: every burst examines the whole table.
    GatewayLimits limits = GatewayLimits.defaults().withConntrackCapacity(64).withSweepSlice(64)
        .withTimeouts(Duration.ofSeconds(100), Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(30));
    GatewayHarness gw = new GatewayHarness(TestGateway.builder().limits(limits).build()).learnDefaultNeighbours();
    byte[] syn = clientSyn(CLIENT_PORT);
    gw.run(0, syn);
    int backend = GatewayHarness.view(syn).getInt(L3 + Ipv4.DST);
    int snatPort = GatewayHarness.view(syn).getShort(L4 + Tcp.SRC_PORT);
    gw.run(1, backendReply(backend, snatPort, Tcp.SYN | Tcp.ACK));

    gw.now += 99 * SECOND; // established: 100 s
    assertThat(gw.run(0, clientData(CLIENT_PORT, Tcp.ACK)).verdict(0)).isEqualTo(1);
    gw.now += 99 * SECOND;
    assertThat(gw.run(1, backendReply(backend, snatPort, Tcp.ACK)).verdict(0)).isEqualTo(0);

    gw.now += 101 * SECOND;
    gw.run(0); // an empty burst still runs the expiry sweep
    assertThat(gw.stages.trackedFlows()).isZero();
    PacketBurst late = gw.run(1, backendReply(backend, snatPort, Tcp.ACK));
    // (Expired flows are also refused on lookup, before the sweep reaches them: see the next test.)
    assertThat(late.dropReason(0)).isEqualTo(DropReason.NO_FLOW);
    assertThat(gw.run(0, clientData(CLIENT_PORT, Tcp.ACK)).dropReason(0)).isEqualTo(DropReason.NO_FLOW);

    // A half-open flow lives only the transitory timeout.
    gw.run(0, clientSyn(41000));
    gw.now += 6 * SECOND;
    gw.run(0);
    assertThat(gw.stages.trackedFlows()).isZero();
  }

  @Test
  void aFlowIdleBeyondItsTimeoutIsNotUsedEvenBeforeTheSweepReachesIt() {
    GatewayLimits limits = GatewayLimits.defaults().withSweepSlice(1)
        .withTimeouts(Duration.ofSeconds(100), Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(30));
    GatewayHarness gw = new GatewayHarness(TestGateway.builder().limits(limits).build()).learnDefaultNeighbours();
    byte[] syn = clientSyn(CLIENT_PORT);
    gw.run(0, syn);
    int backend = GatewayHarness.view(syn).getInt(L3 + Ipv4.DST);
    int snatPort = GatewayHarness.view(syn).getShort(L4 + Tcp.SRC_PORT);
    gw.now += 6 * SECOND;
    assertThat(gw.stages.trackedFlows()).isEqualTo(1);
    assertThat(gw.run(1, backendReply(backend, snatPort, Tcp.SYN | Tcp.ACK)).dropReason(0)).isEqualTo(DropReason.NO_FLOW);
    // A fresh SYN replaces the stale entry and is forwarded.
    assertThat(gw.run(0, clientSyn(CLIENT_PORT)).verdict(0)).isEqualTo(1);
  }

  @Test
  void udpFlowIsTranslatedBothWaysWithValidChecksums() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    byte[] query = TestPacket.udp(CLIENT, 5353, TestGateway.VIP, 53).payload(33)
        .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).bytes();
    assertThat(gw.run(0, query).verdict(0)).isEqualTo(1);
    PacketBuffer out = GatewayHarness.view(query);
    int backend = out.getInt(L3 + Ipv4.DST);
    int snatPort = out.getShort(L4 + Udp.SRC_PORT);
    assertThat(out.getShort(L4 + Udp.DST_PORT)).isEqualTo(8080);
    assertThat(TestPacket.checksumsValid(out, L3)).isTrue();

    byte[] answer = TestPacket.udp(Ipv4.format(backend), 8080, TestGateway.SNAT, snatPort).payload(80)
        .macs(TestGateway.backendMac(backend), TestPacket.GW_MAC_1).bytes();
    assertThat(gw.run(1, answer).verdict(0)).isEqualTo(0);
    PacketBuffer back = GatewayHarness.view(answer);
    assertThat(back.getInt(L3 + Ipv4.SRC)).isEqualTo(Ipv4.parse(TestGateway.VIP));
    assertThat(back.getShort(L4 + Udp.SRC_PORT)).isEqualTo(53);
    assertThat(back.getShort(L4 + Udp.DST_PORT)).isEqualTo(5353);
    assertThat(TestPacket.checksumsValid(back, L3)).isTrue();
  }

  @Test
  void unknownNextHopSendsOneWhoHasAndDropsUntilTheReplyArrives() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config());
    byte[] syn = clientSyn(CLIENT_PORT);
    PacketBurst first = gw.run(0, syn);
    assertThat(first.dropReason(0)).isEqualTo(DropReason.ARP_UNRESOLVED);
    assertThat(first.extraCount()).isEqualTo(1);
    assertThat(first.extraPort(0)).isEqualTo(1);
    PacketBuffer request = first.extra(0);
    int backend = expectedBackend(gw.tables.current(), CLIENT_PORT);
    assertThat(request.length()).isEqualTo(60);
    assertThat(request.getMac(Ethernet.DST)).isEqualTo(Ethernet.BROADCAST);
    assertThat(request.getMac(Ethernet.SRC)).isEqualTo(TestPacket.GW_MAC_1);
    assertThat(request.getShort(Ethernet.TYPE)).isEqualTo(Ethernet.TYPE_ARP);
    assertThat(request.getShort(L3 + Arp.OPER)).isEqualTo(Arp.OP_REQUEST);
    assertThat(request.getMac(L3 + Arp.SHA)).isEqualTo(TestPacket.GW_MAC_1);
    assertThat(request.getInt(L3 + Arp.SPA)).isEqualTo(Ipv4.parse(TestGateway.GW_BACKEND_SIDE));
    assertThat(request.getInt(L3 + Arp.TPA)).isEqualTo(backend);

    // The client's retransmission within the retry interval: dropped again, no second who-has.
    PacketBurst again = gw.run(0, clientSyn(CLIENT_PORT));
    assertThat(again.dropReason(0)).isEqualTo(DropReason.ARP_UNRESOLVED);
    assertThat(again.extraCount()).isZero();

    gw.learnDefaultNeighbours();
    byte[] retry = clientSyn(CLIENT_PORT);
    assertThat(gw.run(0, retry).verdict(0)).isEqualTo(1);
    assertThat(GatewayHarness.view(retry).getMac(Ethernet.DST)).isEqualTo(TestGateway.backendMac(backend));
    assertThat(gw.stages.dropCount(DropReason.ARP_UNRESOLVED)).isEqualTo(2);
  }

  @Test
  void anAgedNeighbourIsReconfirmedWithAWhoHasWhileTrafficKeepsFlowing() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    byte[] syn = clientSyn(CLIENT_PORT);
    PacketBurst first = gw.run(0, syn);
    assertThat(first.verdict(0)).isEqualTo(1);
    assertThat(first.extraCount()).isZero();
    int backend = GatewayHarness.view(syn).getInt(L3 + Ipv4.DST);
    gw.run(1, backendReply(backend, GatewayHarness.view(syn).getShort(L4 + Tcp.SRC_PORT), Tcp.SYN | Tcp.ACK));

    gw.now += 61 * SECOND; // past arpReachable (60 s); the established flow is still tracked
    PacketBurst aged = gw.run(0, clientData(CLIENT_PORT, Tcp.ACK));
    assertThat(aged.verdict(0)).as("still forwarded with the known MAC").isEqualTo(1);
    assertThat(aged.extraCount()).isEqualTo(1);
    assertThat(aged.extra(0).getInt(L3 + Arp.TPA)).isEqualTo(backend);
    assertThat(gw.run(0, clientData(CLIENT_PORT, Tcp.ACK)).extraCount()).as("one refresh per retry interval").isZero();

    // The backend moved to a new MAC and answers: traffic follows it, no more refreshes.
    long newMac = 0x02_00_00_00_CC_01L;
    gw.run(1, TestPacket.arp(Arp.OP_REPLY, newMac, Ipv4.format(backend), TestPacket.GW_MAC_1,
        TestGateway.GW_BACKEND_SIDE, TestPacket.GW_MAC_1));
    gw.now += 2 * SECOND;
    byte[] data = clientData(CLIENT_PORT, Tcp.ACK);
    PacketBurst after = gw.run(0, data);
    assertThat(after.extraCount()).isZero();
    assertThat(GatewayHarness.view(data).getMac(Ethernet.DST)).isEqualTo(newMac);
  }

  @Test
  void anAgedNeighbourBehindATrainGetsOneWhoHasAndEveryPacketOfTheTrainGoes() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    Opened flow = openFlow(gw);
    int backend = flow.backend();
    gw.run(1, backendReply(backend, flow.snatPort(), Tcp.SYN | Tcp.ACK));

    gw.now += 61 * SECOND; // past arpReachable: the train's first packet finds the refresh due
    byte[][] train = new byte[8][];
    for (int k = 0; k < train.length; k++) {
      train[k] = clientData(CLIENT_PORT, Tcp.ACK);
    }
    PacketBurst burst = gw.run(0, train);
    assertThat(burst.extraCount()).as("one who-has for the whole train").isEqualTo(1);
    assertThat(burst.extra(0).getInt(L3 + Arp.TPA)).isEqualTo(backend);
    for (int k = 0; k < train.length; k++) {
      assertThat(burst.verdict(k)).as("packet %d of the train", k).isEqualTo(1);
      assertThat(GatewayHarness.view(train[k]).getMac(Ethernet.DST)).isEqualTo(TestGateway.backendMac(backend));
    }
  }

  @Test
  void ttlOfOneIsNotForwarded() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    byte[] syn = TestPacket.tcp(CLIENT, CLIENT_PORT, TestGateway.VIP, 80, Tcp.SYN)
        .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).ttl(1).bytes();
    assertThat(gw.run(0, syn).dropReason(0)).isEqualTo(DropReason.TTL_EXPIRED);
  }

  @Test
  void aNewFlowsSynAndItsNextSegmentsInOneBurstAllReachTheSameBackend() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    byte[] syn = clientSyn(CLIENT_PORT);
    byte[] other = clientSyn(CLIENT_PORT + 1);
    byte[] data1 = clientData(CLIENT_PORT, Tcp.ACK);
    byte[] data2 = clientData(CLIENT_PORT, Tcp.ACK | Tcp.PSH);
    byte[] otherData = clientData(CLIENT_PORT + 1, Tcp.ACK);
    // The burst's flows are looked up before any is created: segments behind a SYN in the same burst
    // must still find the flow the SYN opened, not be dropped as having none.
    PacketBurst burst = gw.run(0, syn, data1, other, data2, otherData);

    for (int i = 0; i < 5; i++) {
      assertThat(burst.verdict(i)).as("packet %d", i).isEqualTo(1);
    }
    PacketBuffer s = GatewayHarness.view(syn);
    for (byte[] d : new byte[][] {data1, data2}) {
      PacketBuffer out = GatewayHarness.view(d);
      assertThat(out.getInt(L3 + Ipv4.DST)).isEqualTo(s.getInt(L3 + Ipv4.DST));
      assertThat(out.getShort(L4 + Tcp.SRC_PORT)).isEqualTo(s.getShort(L4 + Tcp.SRC_PORT));
      assertThat(TestPacket.checksumsValid(out, L3)).isTrue();
    }
    PacketBuffer o = GatewayHarness.view(other);
    assertThat(GatewayHarness.view(otherData).getShort(L4 + Tcp.SRC_PORT)).isEqualTo(o.getShort(L4 + Tcp.SRC_PORT));
    assertThat(gw.stages.trackedFlows()).isEqualTo(2);
  }

  private static byte[] clientSegment(int ttl, int flags, int payload) {
    return TestPacket.tcp(CLIENT, CLIENT_PORT, TestGateway.VIP, 80, flags)
        .macs(TestGateway.ROUTER_MAC, TestPacket.GW_MAC_0).ttl(ttl).payload(payload).bytes();
  }

  @Test
  void aTrainOfOneFlowsPacketsInOneBurstLeavesByteForByteAsEachPacketAlone() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    Opened flow = openFlow(gw);
    int backend = flow.backend();
    int snatPort = flow.snatPort();
    // Segments of one flow back to back, as the capture sends them: TTLs, flags and payloads differ, and
    // one in the middle has TTL 1. Packets after the first reuse the first one's flow state and deltas.
    byte[][] train = {
        clientSegment(64, Tcp.ACK, 10), clientSegment(200, Tcp.ACK | Tcp.PSH, 100), clientSegment(1, Tcp.ACK, 0),
        clientSegment(2, Tcp.ACK, 7), clientSegment(255, Tcp.ACK | Tcp.PSH, 33)};
    byte[][] replies = {
        backendReply(backend, snatPort, Tcp.ACK), backendReply(backend, snatPort, Tcp.ACK | Tcp.PSH),
        backendReply(backend, snatPort, Tcp.ACK)};
    for (int direction = 0; direction < 2; direction++) {
      byte[][] frames = direction == 0 ? train : replies;
      byte[][] alone = new byte[frames.length][];
      for (int i = 0; i < frames.length; i++) {
        alone[i] = frames[i].clone();
        gw.run(direction, alone[i]);
      }
      PacketBurst burst = gw.run(direction, frames);
      for (int i = 0; i < frames.length; i++) {
        assertThat(frames[i]).as("direction %d packet %d", direction, i).isEqualTo(alone[i]);
      }
      if (direction == 0) {
        assertThat(burst.dropReason(2)).isEqualTo(DropReason.TTL_EXPIRED);
        assertThat(burst.verdict(3)).isEqualTo(1);
        assertThat(GatewayHarness.view(frames[3]).getByte(L3 + Ipv4.TTL)).isEqualTo(1);
        assertThat(TestPacket.checksumsValid(GatewayHarness.view(frames[4]), L3)).isTrue();
      } else {
        assertThat(burst.verdict(2)).isEqualTo(0);
        assertThat(TestPacket.checksumsValid(GatewayHarness.view(frames[2]), L3)).isTrue();
      }
    }
  }

  @Test
  void interleavedFlowsToDifferentBackendsEachKeepTheirOwnMacsAndAddresses() {
    GatewayHarness gw = new GatewayHarness(TestGateway.config()).learnDefaultNeighbours();
    int portA = CLIENT_PORT;
    int portB = CLIENT_PORT + 1;
    while (expectedBackend(gw.tables.current(), portB) == expectedBackend(gw.tables.current(), portA)) {
      portB++;
    }
    gw.run(0, clientSyn(portA));
    gw.run(0, clientSyn(portB));
    int[] ports = {portA, portA, portB, portA, portB, portB};
    byte[][] frames = new byte[ports.length][];
    byte[][] alone = new byte[ports.length][];
    for (int i = 0; i < ports.length; i++) {
      frames[i] = clientData(ports[i], Tcp.ACK);
      alone[i] = frames[i].clone();
      gw.run(0, alone[i]);
    }
    PacketBurst burst = gw.run(0, frames);
    for (int i = 0; i < ports.length; i++) {
      assertThat(burst.verdict(i)).as("packet %d", i).isEqualTo(1);
      assertThat(frames[i]).as("packet %d", i).isEqualTo(alone[i]);
      int backend = expectedBackend(gw.tables.current(), ports[i]);
      assertThat(GatewayHarness.view(frames[i]).getMac(Ethernet.DST)).isEqualTo(TestGateway.backendMac(backend));
      assertThat(GatewayHarness.view(frames[i]).getInt(L3 + Ipv4.DST)).isEqualTo(backend);
    }
  }
}
