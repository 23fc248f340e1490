package io.keelson.dataplane.gateway;

import io.keelson.dataplane.internal.ffm.Dpdk;
import io.keelson.dataplane.internal.ffm.DpdkPort;
import io.keelson.dataplane.internal.ffm.MbufBatch;
import io.keelson.dataplane.internal.ffm.Mempool;
import io.keelson.dataplane.internal.ffm.PacketBuffer;
import io.keelson.dataplane.packet.PacketBurst;
import io.keelson.dataplane.pipeline.Stage;

/**
 * The last stage: sorts a burst's packets by verdict into one TX batch per port, sends each batch on
 * this pipeline's TX queue, frees drops in bulk, and sends the frames the pipeline originated. ARP
 * frames are also copied to the kernel when there is an exception port, so the kernel's own neighbour
 * table (for the node's own traffic) fills like the gateway's.
 *
 * <p>Threading: single writer of its batches, TX queue and TX counters; runs on the pipeline's last
 * thread (the ring's, or the poller's inline), which it registers with DPDK on first use.
 */
final class TransmitStage implements Stage<GatewayEvent> {
  private static final int ETHERTYPE_ARP = 0x0806;

  private final DpdkPort[] portsById;
  private final MbufBatch[] batches;
  /**
   * The ids of the ports that have a batch: {@link #flush} visits only these. It used to scan every
   * possible port id (256) per burst, which profiling put at about 7% of the poller thread's samples on
   * the pcap benchmark.
   */
  private final int[] txPorts;
  private final MbufBatch drops;
  private final int txQueue;
  private final int exceptionPort;
  private final Mempool pool;
  private final PortCounters counters;
  private final PacketBuffer scratch = new PacketBuffer();
  private boolean registered;

  /**
   * @param portsById     every port the gateway uses, indexed by DPDK port id (nulls elsewhere)
   * @param exceptionPort the TAP port's id, or -1 when there is none
   */
  TransmitStage(DpdkPort[] portsById, int txQueue, int exceptionPort, Mempool pool, PortCounters counters,
      int maxBurst) {
    this.portsById = portsById;
    this.txQueue = txQueue;
    this.exceptionPort = exceptionPort;
    this.pool = pool;
    this.counters = counters;
    this.batches = new MbufBatch[portsById.length];
    int ports = 0;
    for (DpdkPort port : portsById) {
      ports += port != null ? 1 : 0;
    }
    this.txPorts = new int[ports];
    for (int i = 0, k = 0; i < portsById.length; i++) {
      if (portsById[i] != null) {
        txPorts[k++] = i;
        // Room for a whole burst plus the frames the pipeline may originate or copy.
        batches[i] = new MbufBatch(maxBurst * 2 + PacketBurst.MAX_EXTRA);
      }
    }
    this.drops = new MbufBatch(maxBurst);
  }

  @Override
  public void onEvent(GatewayEvent event) {
    if (!registered) {
      Dpdk.registerThread();
      registered = true;
    }
    PacketBurst burst = event.burst;
    int n = burst.count();
    if (event.fromKernel) {
      MbufBatch wire = batches[event.wirePort];
      for (int i = 0; i < n; i++) {
        wire.add(burst.packet(i));
      }
      counters.add(event.wirePort, GatewayCounter.FROM_EXCEPTION, n);
    } else {
      sortByVerdict(burst, n);
    }
    for (int j = 0, extras = burst.extraCount(); j < extras; j++) {
      originate(burst.extraPort(j), burst.extra(j));
    }
    flush();
  }

  private void sortByVerdict(PacketBurst burst, int n) {
    int rxPort = burst.rxPort();
    long dropped = 0;
    for (int i = 0; i < n; i++) {
      PacketBuffer p = burst.packet(i);
      int verdict = burst.verdict(i);
      if (exceptionPort >= 0 && verdict != PacketBurst.TO_EXCEPTION && p.length() >= 14
          && p.getShort(12) == ETHERTYPE_ARP) {
        originate(exceptionPort, p);
      }
      if (verdict >= 0 && verdict < batches.length && batches[verdict] != null) {
        batches[verdict].add(p);
      } else if (verdict == PacketBurst.TO_EXCEPTION && exceptionPort >= 0) {
        batches[exceptionPort].add(p);
        counters.add(rxPort, GatewayCounter.TO_EXCEPTION, 1);
      } else {
        // DROP and CONSUMED (the stages counted the reason), or a verdict this I/O cannot carry out.
        if (verdict != PacketBurst.CONSUMED) {
          dropped++;
        }
        if (verdict == PacketBurst.TO_EXCEPTION || verdict >= 0) {
          counters.add(rxPort, GatewayCounter.NO_MBUF_OR_PORT, 1);
        }
        drops.add(p);
      }
    }
    if (dropped > 0) {
      counters.add(rxPort, GatewayCounter.PIPELINE_DROPPED, dropped);
    }
  }

  private void originate(int port, PacketBuffer frame) {
    MbufBatch batch = port >= 0 && port < batches.length ? batches[port] : null;
    if (batch != null && batch.addCopy(pool, frame, scratch)) {
      counters.add(port, GatewayCounter.ORIGINATED, 1);
    } else {
      counters.add(Math.max(port, 0), GatewayCounter.NO_MBUF_OR_PORT, 1);
    }
  }

  private void flush() {
    for (int port : txPorts) {
      MbufBatch batch = batches[port];
      if (batch.count() == 0) {
        continue;
      }
      int count = batch.count();
      int sent = portsById[port].txBurst(txQueue, batch);
      counters.add(port, GatewayCounter.TX_PACKETS, sent);
      if (sent < count) {
        counters.add(port, GatewayCounter.TX_RING_FULL, count - sent);
      }
    }
    drops.freeAll();
  }
}
