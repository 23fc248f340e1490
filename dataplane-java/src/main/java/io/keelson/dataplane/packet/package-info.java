/**
 * The gateway's packet logic, pure Java over {@link io.keelson.dataplane.internal.ffm.PacketBuffer}
 * flyweights (this package never touches {@code java.lang.foreign}): header layouts and the
 * parser, checksums, full-NAT rewrite, ARP and ICMP answers, ACL and SYN limiting, and the three
 * pipeline stages {@link io.keelson.dataplane.packet.ParseStage} → {@link
 * io.keelson.dataplane.packet.ClassifyStage} → {@link io.keelson.dataplane.packet.ForwardStage}
 * over a {@link io.keelson.dataplane.packet.PacketBurst} event, wired by {@link
 * io.keelson.dataplane.packet.GatewayStages}. Subpackages: {@code maglev} (consistent hashing) and
 * {@code conntrack} (the flow table).
 *
 * <p>Steady state allocates nothing: per-packet state lives in the event's primitive arrays and in
 * fixed-size open-addressing tables owned by one stage each (single writer). Configuration is an
 * immutable {@link io.keelson.dataplane.packet.GatewayConfig} swapped through {@link
 * io.keelson.dataplane.packet.GatewayTables} and taken once per burst.
 */
package io.keelson.dataplane.packet;
