package io.keelson.dataplane.packet;

import io.keelson.dataplane.internal.ffm.PacketBuffer;

/** Runs bursts through real Parse → Classify → Forward stage instances with a clock the test drives. */
final class GatewayHarness {
  static final long SECOND = 1_000_000_000L;

  final GatewayTables tables;
  final GatewayStages stages;
  final ParseStage parse;
  final ClassifyStage classify;
  final ForwardStage forward;
  long now = 1_000 * SECOND;

  @SuppressWarnings("unchecked")
  GatewayHarness(GatewayConfig config) {
    tables = new GatewayTables(config);
    stages = new GatewayStages(tables, () -> now);
    var suppliers = stages.stages();
    parse = (ParseStage) suppliers.get(0).get();
    classify = (ClassifyStage) suppliers.get(1).get();
    forward = (ForwardStage) suppliers.get(2).get();
  }

  /** Runs one burst of frames received on {@code rxPort}; the frames are rewritten in place. */
  PacketBurst run(int rxPort, byte[]... frames) {
    PacketBurst burst = new PacketBurst(Math.max(1, frames.length));
    for (int i = 0; i < frames.length; i++) {
      burst.setPacket(i, TestPacket.wrap(frames[i]));
    }
    burst.reset(frames.length, rxPort);
    parse.onEvent(burst);
    classify.onEvent(burst);
    forward.onEvent(burst);
    return burst;
  }

  /** Teaches the gateway every backend's and the client-side router's MAC through real ARP replies. */
  GatewayHarness learnNeighbours(String... backendIps) {
    for (String ip : backendIps) {
      PacketBurst b = run(1, TestPacket.arp(Arp.OP_REPLY, TestGateway.backendMac(Ipv4.parse(ip)), ip,
          TestPacket.GW_MAC_1, TestGateway.GW_BACKEND_SIDE, TestPacket.GW_MAC_1));
      if (b.verdict(0) != PacketBurst.CONSUMED) {
        throw new AssertionError("ARP reply from " + ip + " not consumed: " + b.dropReason(0));
      }
    }
    PacketBurst b = run(0, TestPacket.arp(Arp.OP_REPLY, TestGateway.ROUTER_MAC, TestGateway.ROUTER,
        TestPacket.GW_MAC_0, TestGateway.GW_CLIENT_SIDE, TestPacket.GW_MAC_0));
    if (b.verdict(0) != PacketBurst.CONSUMED) {
      throw new AssertionError("ARP reply from the router not consumed: " + b.dropReason(0));
    }
    return this;
  }

  GatewayHarness learnDefaultNeighbours() {
    return learnNeighbours("10.1.0.11", "10.1.0.12", "10.1.0.13");
  }

  static PacketBuffer view(byte[] frame) {
    return TestPacket.wrap(frame);
  }
}
