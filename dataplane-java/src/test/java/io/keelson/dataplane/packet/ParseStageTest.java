package io.keelson.dataplane.packet;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.internal.ffm.PacketBuffer;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class ParseStageTest {
  private static final int L3 = 14;
  private static final int L4 = 34;

  private final GatewayTables tables = new GatewayTables(TestGateway.config());
  private long clockReadings;
  private final ParseStage stage = new ParseStage(tables, () -> clockReadings++ * 1_000L + 5_000L);

  private PacketBurst run(byte[]... frames) {
    PacketBurst burst = new PacketBurst(frames.length);
    for (int i = 0; i < frames.length; i++) {
      burst.setPacket(i, TestPacket.wrap(frames[i]));
    }
    burst.reset(frames.length, 0);
    stage.onEvent(burst);
    return burst;
  }

  private static byte[] syn() {
    return TestPacket.tcp("198.51.100.7", 40000, "192.0.2.100", 80, Tcp.SYN).bytes();
  }

  private static byte[] corrupt(byte[] frame, Consumer<PacketBuffer> change, boolean fixIpChecksum) {
    PacketBuffer buf = TestPacket.wrap(frame);
    change.accept(buf);
    if (fixIpChecksum) {
      int ihl = Math.max(20, Math.min((buf.getByte(L3) & 0xF) * 4, frame.length - L3));
      buf.putShort(L3 + Ipv4.CHECKSUM, Checksums.ipv4Header(buf, L3, ihl));
    }
    return frame;
  }

  private static byte[] truncate(byte[] frame, int length) {
    return java.util.Arrays.copyOf(frame, length);
  }

  private void assertDropped(byte[] frame, DropReason reason) {
    long before = stage.drops().get(reason);
    PacketBurst burst = run(frame);
    assertThat(burst.verdict(0)).isEqualTo(PacketBurst.DROP);
    assertThat(burst.dropReason(0)).isEqualTo(reason);
    assertThat(stage.drops().get(reason)).isEqualTo(before + 1);
  }

  @Test
  void theClockIsReadOncePerBurstAndTheReadingTravelsWithIt() {
    PacketBurst first = run(TestPacket.tcp("198.51.100.7", 40000, "192.0.2.100", 80, Tcp.SYN).bytes(),
        TestPacket.udp("198.51.100.7", 5000, "192.0.2.100", 53).bytes());
    assertThat(clockReadings).isEqualTo(1);
    assertThat(first.now).isEqualTo(5_000L);
    PacketBurst second = run(TestPacket.tcp("198.51.100.7", 40000, "192.0.2.100", 80, Tcp.ACK).bytes());
    assertThat(clockReadings).isEqualTo(2);
    assertThat(second.now).isEqualTo(6_000L);
  }

  @Test
  void wellFormedTcpUdpIcmpAndArpPassWithTheirFieldsRecorded() {
    PacketBurst burst = run(
        syn(),
        TestPacket.udp("198.51.100.7", 5353, "192.0.2.100", 53).payload(3).bytes(),
        TestPacket.icmpEcho("198.51.100.7", "192.0.2.1").payload(16).bytes(),
        TestPacket.arp(Arp.OP_REQUEST, TestPacket.CLIENT_MAC, "192.0.2.50", 0, "192.0.2.100", Ethernet.BROADCAST),
        TestPacket.tcp("198.51.100.7", 40000, "192.0.2.100", 80, Tcp.SYN).vlan(7).bytes());
    for (int i = 0; i < 5; i++) {
      assertThat(burst.verdict(i)).as("packet %d", i).isEqualTo(PacketBurst.PENDING);
    }
    assertThat(burst.kind[0]).isEqualTo(PacketBurst.KIND_IPV4);
    assertThat(burst.srcIp[0]).isEqualTo(Ipv4.parse("198.51.100.7"));
    assertThat(burst.dstIp[0]).isEqualTo(Ipv4.parse("192.0.2.100"));
    assertThat(burst.srcPort[0]).isEqualTo(40000);
    assertThat(burst.dstPort[0]).isEqualTo(80);
    assertThat(burst.flags[0]).isEqualTo(Tcp.SYN);
    assertThat(burst.l4[0]).isEqualTo(L4);
    assertThat(burst.protocol[1]).isEqualTo(Ipv4.PROTO_UDP);
    assertThat(burst.l4[1]).isEqualTo(L4);
    assertThat(burst.flags[2]).isEqualTo(Icmp.ECHO_REQUEST);
    assertThat(burst.kind[3]).isEqualTo(PacketBurst.KIND_ARP);
    assertThat(burst.dstIp[3]).isEqualTo(Ipv4.parse("192.0.2.100"));
    assertThat(burst.l3[4]).isEqualTo(18);
    assertThat(burst.dstPort[4]).isEqualTo(80);
    assertThat(burst.config).isSameAs(tables.current());
  }

  @Test
  void ipOptionsAreCoveredByTheChecksumAndSkippedToFindL4() {
    byte[] plain = syn();
    byte[] withOptions = new byte[plain.length + 4];
    System.arraycopy(plain, 0, withOptions, 0, L4);
    withOptions[L4] = 1; // four NOPs
    withOptions[L4 + 1] = 1;
    withOptions[L4 + 2] = 1;
    withOptions[L4 + 3] = 1;
    System.arraycopy(plain, L4, withOptions, L4 + 4, plain.length - L4);
    PacketBuffer buf = TestPacket.wrap(withOptions);
    buf.putByte(L3, 0x46);
    buf.putShort(L3 + Ipv4.TOTAL_LENGTH, buf.getShort(L3 + Ipv4.TOTAL_LENGTH) + 4);
    buf.putShort(L3 + Ipv4.CHECKSUM, Checksums.ipv4Header(buf, L3, 24));
    PacketBurst burst = run(withOptions.clone());
    assertThat(burst.verdict(0)).isEqualTo(PacketBurst.PENDING);
    assertThat(burst.l4[0]).isEqualTo(L4 + 4);
    assertThat(burst.dstPort[0]).isEqualTo(80);
    withOptions[L4 + 2] = 0x44; // an option byte changes: the checksum no longer verifies
    assertDropped(withOptions, DropReason.BAD_IP_CHECKSUM);
  }

  @Test
  void truncatedEthernetAndVlan() {
    assertDropped(truncate(syn(), 13), DropReason.TRUNCATED_ETHERNET);
    byte[] tagged = TestPacket.tcp("198.51.100.7", 1, "192.0.2.100", 80, Tcp.SYN).vlan(3).bytes();
    assertDropped(truncate(tagged, 16), DropReason.TRUNCATED_ETHERNET);
    assertDropped(new byte[0], DropReason.TRUNCATED_ETHERNET);
  }

  @Test
  void foreignDestinationMacAndIpv4BroadcastAreNotOurs() {
    assertDropped(TestPacket.tcp("198.51.100.7", 1, "192.0.2.100", 80, Tcp.SYN)
        .macs(TestPacket.CLIENT_MAC, 0x02_99_99_99_99_99L).bytes(), DropReason.NOT_OUR_MAC);
    assertDropped(TestPacket.tcp("198.51.100.7", 1, "192.0.2.100", 80, Tcp.SYN)
        .macs(TestPacket.CLIENT_MAC, Ethernet.BROADCAST).bytes(), DropReason.NOT_OUR_MAC);
  }

  @Test
  void unknownEtherTypeAndAnIpv4HeaderInAnIpv6Frame() {
    assertDropped(corrupt(syn(), b -> b.putShort(Ethernet.TYPE, 0x88CC), false), DropReason.UNKNOWN_ETHERTYPE);
    assertDropped(corrupt(syn(), b -> b.putShort(Ethernet.TYPE, Ethernet.TYPE_IPV6), false), DropReason.BAD_IP_VERSION);
  }

  @Test
  void truncatedAndMalformedArp() {
    byte[] request = TestPacket.arp(Arp.OP_REQUEST, TestPacket.CLIENT_MAC, "192.0.2.50", 0, "192.0.2.100", Ethernet.BROADCAST);
    assertDropped(truncate(request, 14 + 27), DropReason.TRUNCATED_ARP);
    assertDropped(corrupt(request.clone(), b -> b.putShort(14 + Arp.OPER, 3), false), DropReason.MALFORMED_ARP);
    assertDropped(corrupt(request.clone(), b -> b.putShort(14 + Arp.PTYPE, 0x86DD), false), DropReason.MALFORMED_ARP);
    assertDropped(corrupt(request.clone(), b -> b.putByte(14 + Arp.HLEN, 8), false), DropReason.MALFORMED_ARP);
  }

  @Test
  void truncatedIpv4BadVersionAndBadIhl() {
    assertDropped(truncate(syn(), L3 + 19), DropReason.TRUNCATED_IPV4);
    assertDropped(corrupt(syn(), b -> b.putByte(L3, 0x65), true), DropReason.BAD_IP_VERSION);
    assertDropped(corrupt(syn(), b -> b.putByte(L3, 0x44), false), DropReason.BAD_IHL);
    // IHL 15 claims a 60-byte header; the frame holds only 40 bytes after the IP header start.
    byte[] shortFrame = truncate(syn(), L3 + 40);
    assertDropped(corrupt(shortFrame, b -> b.putByte(L3, 0x4F), false), DropReason.BAD_IHL);
  }

  @Test
  void totalLengthBeyondPacketOrBelowHeader() {
    assertDropped(corrupt(syn(), b -> b.putShort(L3 + Ipv4.TOTAL_LENGTH, 1500), true), DropReason.BAD_TOTAL_LENGTH);
    assertDropped(corrupt(syn(), b -> b.putShort(L3 + Ipv4.TOTAL_LENGTH, 19), true), DropReason.BAD_TOTAL_LENGTH);
  }

  @Test
  void badIpChecksum() {
    assertDropped(corrupt(syn(), b -> b.putShort(L3 + Ipv4.CHECKSUM, b.getShort(L3 + Ipv4.CHECKSUM) ^ 0x0100), false),
        DropReason.BAD_IP_CHECKSUM);
  }

  @Test
  void fragmentsFirstMiddleAndLast() {
    assertDropped(corrupt(syn(), b -> b.putShort(L3 + Ipv4.FLAGS_FRAGMENT, 0x2000), true), DropReason.FRAGMENT);
    assertDropped(corrupt(syn(), b -> b.putShort(L3 + Ipv4.FLAGS_FRAGMENT, 0x2010), true), DropReason.FRAGMENT);
    assertDropped(corrupt(syn(), b -> b.putShort(L3 + Ipv4.FLAGS_FRAGMENT, 0x0010), true), DropReason.FRAGMENT);
  }

  @Test
  void ttlZeroOnArrival() {
    assertDropped(TestPacket.tcp("198.51.100.7", 1, "192.0.2.100", 80, Tcp.SYN).ttl(0).bytes(), DropReason.TTL_EXPIRED);
  }

  @Test
  void truncatedOrInconsistentL4Headers() {
    // Total length says 20 + 12: too short for TCP.
    assertDropped(corrupt(syn(), b -> b.putShort(L3 + Ipv4.TOTAL_LENGTH, 32), true), DropReason.TRUNCATED_TCP);
    assertDropped(corrupt(syn(), b -> b.putByte(L4 + Tcp.DATA_OFFSET, 0x40), false), DropReason.BAD_TCP_OFFSET);
    assertDropped(corrupt(syn(), b -> b.putByte(L4 + Tcp.DATA_OFFSET, 0xF0), false), DropReason.BAD_TCP_OFFSET);
    byte[] udp = TestPacket.udp("198.51.100.7", 5353, "192.0.2.100", 53).bytes();
    assertDropped(corrupt(udp.clone(), b -> b.putShort(L3 + Ipv4.TOTAL_LENGTH, 27), true), DropReason.TRUNCATED_UDP);
    assertDropped(corrupt(udp.clone(), b -> b.putShort(L4 + Udp.LENGTH, 7), false), DropReason.BAD_UDP_LENGTH);
    assertDropped(corrupt(udp.clone(), b -> b.putShort(L4 + Udp.LENGTH, 9), false), DropReason.BAD_UDP_LENGTH);
    byte[] icmp = TestPacket.icmpEcho("198.51.100.7", "192.0.2.1").bytes();
    assertDropped(corrupt(icmp, b -> b.putShort(L3 + Ipv4.TOTAL_LENGTH, 27), true), DropReason.TRUNCATED_ICMP);
  }

  @Test
  void randomGarbageNeverThrowsAndIsAlwaysDecided() {
    java.util.SplittableRandom random = new java.util.SplittableRandom(1);
    for (int round = 0; round < 5_000; round++) {
      byte[] frame = syn();
      int len = random.nextInt(0, frame.length + 1);
      for (int k = random.nextInt(1, 6); k > 0; k--) {
        frame[random.nextInt(frame.length)] = (byte) random.nextInt();
      }
      PacketBurst burst = run(truncate(frame, len));
      assertThat(burst.verdict(0) == PacketBurst.PENDING || burst.dropReason(0) != null).isTrue();
    }
  }
}
