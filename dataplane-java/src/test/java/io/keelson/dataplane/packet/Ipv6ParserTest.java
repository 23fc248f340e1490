package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import java.util.Arrays;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class Ipv6ParserTest {
  private static final int L3 = 14;

  private final ParseStage stage = new ParseStage(new GatewayTables(TestGateway6.config()), () -> 0);

  private PacketBurst run(byte[] frame) {
    PacketBurst burst = new PacketBurst(1);
    burst.setPacket(0, TestPacket.wrap(frame));
    burst.reset(1, 0);
    stage.onEvent(burst);
    return burst;
  }

  private static TestPacket6 syn() {
    return TestPacket6.tcp(TestGateway6.CLIENT, 40000, TestGateway6.VIP, 80, Tcp.SYN);
  }

  private static byte[] change(byte[] frame, Consumer<PacketBuffer> change) {
    change.accept(TestPacket.wrap(frame));
    return frame;
  }

  private void assertDropped(byte[] frame, DropReason reason) {
    long before = stage.drops().get(reason);
    PacketBurst burst = run(frame);
    assertThat(burst.dropReason(0)).as(reason.label()).isEqualTo(reason);
    assertThat(stage.drops().get(reason)).isEqualTo(before + 1);
  }

  @Test
  void parsesTcpUdpAndIcmpv6IntoTheIpv6Metadata() {
    PacketBurst burst = run(syn().bytes());
    assertThat(burst.verdict(0)).isEqualTo(PacketBurst.PENDING);
    assertThat(burst.kind[0]).isEqualTo(PacketBurst.KIND_IPV6);
    assertThat(new Ipv6.Address(burst.srcHi6[0], burst.srcLo6[0])).isEqualTo(Ipv6.Address.parse(TestGateway6.CLIENT));
    assertThat(new Ipv6.Address(burst.dstHi6[0], burst.dstLo6[0])).isEqualTo(Ipv6.Address.parse(TestGateway6.VIP));
    assertThat(burst.protocol[0]).isEqualTo(Ipv4.PROTO_TCP);
    assertThat(burst.srcPort[0]).isEqualTo(40000);
    assertThat(burst.dstPort[0]).isEqualTo(80);
    assertThat(burst.flags[0]).isEqualTo(Tcp.SYN);
    assertThat(burst.l4[0]).isEqualTo(L3 + 40);

    PacketBurst udp = run(TestPacket6.udp(TestGateway6.CLIENT, 5353, TestGateway6.VIP, 53).payload(10).bytes());
    assertThat(udp.kind[0]).isEqualTo(PacketBurst.KIND_IPV6);
    assertThat(udp.protocol[0]).isEqualTo(Ipv4.PROTO_UDP);
    PacketBurst echo = run(TestPacket6.echoRequest(TestGateway6.CLIENT, TestGateway6.VIP).bytes());
    assertThat(echo.flags[0]).isEqualTo(NeighbourDiscovery.ECHO_REQUEST);
  }

  @Test
  void skipsHopByHopRoutingAndDestinationOptionsWithinBounds() {
    byte[] frame = syn().extension(Ipv6.HOP_BY_HOP, 8).extension(Ipv6.ROUTING, 24).extension(Ipv6.DESTINATION_OPTIONS, 16)
        .bytes();
    PacketBurst burst = run(frame);
    assertThat(burst.verdict(0)).isEqualTo(PacketBurst.PENDING);
    assertThat(burst.l4[0]).isEqualTo(L3 + 40 + 8 + 24 + 16);
    assertThat(burst.protocol[0]).isEqualTo(Ipv4.PROTO_TCP);
    assertThat(burst.dstPort[0]).isEqualTo(80);
  }

  @Test
  void dropsFragmentsAndMalformedExtensionChains() {
    assertDropped(syn().extension(Ipv6.FRAGMENT, 8).bytes(), DropReason.FRAGMENT);
    assertDropped(syn().extension(Ipv6.DESTINATION_OPTIONS, 8).extension(Ipv6.FRAGMENT, 8).bytes(), DropReason.FRAGMENT);
    // Hop-by-hop anywhere but first.
    assertDropped(syn().extension(Ipv6.DESTINATION_OPTIONS, 8).extension(Ipv6.HOP_BY_HOP, 8).bytes(),
        DropReason.BAD_IPV6_EXTENSION);
    // A routing header with segments left.
    byte[] routing = syn().extension(Ipv6.ROUTING, 24).bytes();
    assertDropped(change(routing, b -> b.putByte(L3 + 40 + 3, 1)), DropReason.BAD_IPV6_EXTENSION);
    // A header whose length runs past the payload.
    byte[] longHeader = syn().extension(Ipv6.DESTINATION_OPTIONS, 8).bytes();
    assertDropped(change(longHeader, b -> b.putByte(L3 + 40 + 1, 200)), DropReason.BAD_IPV6_EXTENSION);
    // Too many headers.
    TestPacket6 many = syn();
    for (int k = 0; k <= Ipv6.MAX_EXTENSION_HEADERS; k++) {
      many.extension(Ipv6.DESTINATION_OPTIONS, 8);
    }
    assertDropped(many.bytes(), DropReason.BAD_IPV6_EXTENSION);
  }

  @Test
  void dropsMalformedHeadersWithTheirReasons() {
    byte[] good = syn().bytes();
    assertDropped(Arrays.copyOf(good, L3 + 39), DropReason.TRUNCATED_IPV6);
    assertDropped(change(good.clone(), b -> b.putByte(L3, 0x40)), DropReason.BAD_IP_VERSION);
    assertDropped(change(good.clone(), b -> b.putShort(L3 + Ipv6.PAYLOAD_LENGTH, 0)), DropReason.BAD_IPV6_PAYLOAD_LENGTH);
    assertDropped(change(good.clone(), b -> b.putShort(L3 + Ipv6.PAYLOAD_LENGTH, 500)), DropReason.BAD_IPV6_PAYLOAD_LENGTH);
    assertDropped(change(good.clone(), b -> b.putByte(L3 + Ipv6.HOP_LIMIT, 0)), DropReason.TTL_EXPIRED);
    assertDropped(change(good.clone(), b -> b.putShort(L3 + Ipv6.PAYLOAD_LENGTH, 12)), DropReason.TRUNCATED_TCP);
    assertDropped(change(good.clone(), b -> b.putByte(L3 + 40 + Tcp.DATA_OFFSET, 0x20)), DropReason.BAD_TCP_OFFSET);
    byte[] udp = TestPacket6.udp(TestGateway6.CLIENT, 1, TestGateway6.VIP, 53).bytes();
    assertDropped(change(udp, b -> b.putShort(L3 + 40 + Udp.LENGTH, 4)), DropReason.BAD_UDP_LENGTH);
    byte[] echo = TestPacket6.echoRequest(TestGateway6.CLIENT, TestGateway6.VIP).bytes();
    assertDropped(change(echo, b -> b.putShort(L3 + Ipv6.PAYLOAD_LENGTH, 4)), DropReason.TRUNCATED_ICMP);
  }

  @Test
  void takesGroupTrafficOnlyAsNeighborSolicitations() {
    assertThat(run(TestPacket6.solicitation(TestGateway6.CLIENT, TestGateway6.CLIENT_MAC, TestGateway6.GW_CLIENT_SIDE)
        .bytes()).verdict(0)).isEqualTo(PacketBurst.PENDING);
    // A unicast address sent to a multicast MAC, a group address in a frame to our MAC, and broadcast.
    assertDropped(syn().macs(TestPacket.CLIENT_MAC, 0x3333_0000_0001L).bytes(), DropReason.NOT_OUR_MAC);
    assertDropped(TestPacket6.tcp(TestGateway6.CLIENT, 1, "ff02::1", 80, Tcp.SYN).bytes(), DropReason.NOT_OUR_MAC);
    assertDropped(TestPacket6.tcp(TestGateway6.CLIENT, 1, "ff02::1", 80, Tcp.SYN)
        .macs(TestPacket.CLIENT_MAC, 0x3333_0000_0001L).bytes(), DropReason.NOT_OUR_MAC);
    assertDropped(syn().macs(TestPacket.CLIENT_MAC, Ethernet.BROADCAST).bytes(), DropReason.NOT_OUR_MAC);
    // IPv4 to an IPv6 multicast MAC is not ours either.
    assertDropped(TestPacket.tcp("198.51.100.7", 1, "192.0.2.100", 80, Tcp.SYN)
        .macs(TestPacket.CLIENT_MAC, 0x3333_0000_0001L).bytes(), DropReason.NOT_OUR_MAC);
  }

  @Test
  void everyTruncationOfAValidPacketIsDroppedNotThrown() {
    byte[] good = syn().extension(Ipv6.HOP_BY_HOP, 8).payload(30).bytes();
    for (int len = 0; len < good.length; len++) {
      PacketBurst burst = run(Arrays.copyOf(good, len));
      if (len < L3 + 40 + 8 + 20 + 30) {
        assertThat(burst.verdict(0)).as("length " + len).isEqualTo(PacketBurst.DROP);
      }
    }
  }
}
