package io.keelson.dataplane.gateway;

import io.keelson.dataplane.internal.ffm.CpuAffinity;
import io.keelson.dataplane.packet.FusedStages;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.BitSet;

/**
 * The whole per-burst work of one RX queue as one pipeline stage: parse, classify and forward (skipped
 * for bursts the kernel sent back through the exception port, which go out unchanged), then transmit.
 * One stage means direct calls inline, and on a Disruptor ring one worker thread per queue beside the
 * poller — on two cores, a thread per stage spent its time waking the next one (0.17 Mpps).
 *
 * <p>Threading: that of its stages: the pipeline's one thread (the poller's inline, the ring's worker).
 */
final class GatewayBurstStage implements io.keelson.dataplane.pipeline.Stage<GatewayEvent> {
  private final FusedStages packets;
  private final TransmitStage transmit;
  /** CPUs a ring worker keeps to (away from the pollers' cores), applied on its first event; null inline. */
  private BitSet workerCpus;
  /** The thread that ran the first event (a ring's worker, or the poller inline); null before. */
  private volatile Thread thread;

  GatewayBurstStage(FusedStages packets, TransmitStage transmit, BitSet workerCpus) {
    this.packets = packets;
    this.transmit = transmit;
    this.workerCpus = workerCpus;
  }

  @Override
  public void onEvent(GatewayEvent event) {
    if (thread == null) {
      thread = Thread.currentThread();
    }
    if (workerCpus != null) {
      CpuAffinity.set(workerCpus);
      workerCpus = null;
    }
    if (!event.fromKernel) {
      packets.onEvent(event.burst);
    }
    transmit.onEvent(event);
  }

  /** CPU time (ns) of the thread that runs this stage, 0 before its first event, -1 where the JVM cannot tell. */
  long cpuNanos() {
    Thread t = thread;
    if (t == null) {
      return 0;
    }
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    return mx.isThreadCpuTimeSupported() ? mx.getThreadCpuTime(t.threadId()) : -1;
  }
}
