package io.keelson.dataplane.gateway;

import io.keelson.dataplane.internal.ffm.Dpdk;
import io.keelson.dataplane.internal.ffm.DpdkPort;
import io.keelson.dataplane.internal.ffm.RxBurst;
import io.keelson.dataplane.pipeline.EventFiller;
import io.keelson.dataplane.pipeline.Pipeline;

/**
 * The agent for RX queue {@code q}: receives a burst from queue {@code q} of every wire port (and, for
 * queue 0, from the exception port) and publishes it to this queue's pipeline, one event per burst.
 * The pipeline's last stage transmits. A burst the pipeline cannot take (ring full) is freed and
 * counted, never waited on.
 *
 * <p>Threading: runs on its own pinned thread, registered with DPDK; the single user of its RX queues.
 */
final class QueuePoller implements Agent {
  /** Copies the received burst's mbuf pointers into the event's flyweights: no packet bytes move. */
  private static final EventFiller<GatewayEvent, QueuePoller> FILL = (event, poller) -> {
    RxBurst rx = poller.filling;
    int n = rx.count();
    for (int i = 0; i < n; i++) {
      rx.repoint(i, event.burst.packet(i));
    }
    event.burst.reset(n, poller.fillingPort);
    event.fromKernel = poller.fillingFromKernel;
    event.wirePort = poller.wirePortForKernel;
    rx.clear();
  };

  private final int queue;
  private final DpdkPort[] wirePorts;
  private final DpdkPort exceptionPort;
  private final int wirePortForKernel;
  private final Pipeline<GatewayEvent> pipeline;
  private final PortCounters counters;
  private final RxBurst rx;

  private RxBurst filling;
  private int fillingPort;
  private boolean fillingFromKernel;

  /**
   * @param exceptionPort the TAP port to poll (queue 0 only), or null
   * @param wirePortForKernel the port id the kernel's packets leave by
   */
  QueuePoller(int queue, DpdkPort[] wirePorts, DpdkPort exceptionPort, int wirePortForKernel,
      Pipeline<GatewayEvent> pipeline, PortCounters counters, int burstSize) {
    this.queue = queue;
    this.wirePorts = wirePorts;
    this.exceptionPort = queue == 0 ? exceptionPort : null;
    this.wirePortForKernel = wirePortForKernel;
    this.pipeline = pipeline;
    this.counters = counters;
    this.rx = new RxBurst(burstSize);
  }

  @Override
  public void onStart() {
    Dpdk.registerThread();
  }

  @Override
  public int doWork() {
    int work = 0;
    for (DpdkPort port : wirePorts) {
      work += poll(port, false);
    }
    if (exceptionPort != null) {
      work += poll(exceptionPort, true);
    }
    return work;
  }

  private int poll(DpdkPort port, boolean fromKernel) {
    int n = port.rxBurst(queue, rx);
    if (n == 0) {
      return 0;
    }
    int id = port.id();
    counters.add(id, GatewayCounter.RX_PACKETS, n);
    counters.add(id, GatewayCounter.RX_BURSTS, 1);
    filling = rx;
    fillingPort = id;
    fillingFromKernel = fromKernel;
    if (!pipeline.tryPublish(FILL, this)) {
      counters.add(id, GatewayCounter.PIPELINE_FULL, n);
      rx.freeAll();
    }
    return n;
  }

  @Override
  public void onClose() {
    rx.close();
  }

  @Override
  public String roleName() {
    return "gateway-rx-" + queue;
  }
}
