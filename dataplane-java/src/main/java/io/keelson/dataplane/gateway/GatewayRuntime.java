package io.keelson.dataplane.gateway;

import io.keelson.dataplane.hw.HardwareProfile;
import io.keelson.dataplane.hw.IdleProfile;
import io.keelson.dataplane.hw.PortProfile;
import io.keelson.dataplane.internal.ffm.CpuAffinity;
import io.keelson.dataplane.internal.ffm.Dpdk;
import io.keelson.dataplane.internal.ffm.DpdkException;
import io.keelson.dataplane.internal.ffm.DpdkPort;
import io.keelson.dataplane.internal.ffm.Mempool;
import io.keelson.dataplane.internal.ffm.PortSettings;
import io.keelson.dataplane.packet.GatewayConfig;
import io.keelson.dataplane.packet.Ipv6Config;
import io.keelson.dataplane.packet.GatewayStages;
import io.keelson.dataplane.packet.GatewayTables;
import io.keelson.dataplane.pipeline.Pipeline;
import io.keelson.dataplane.pipeline.PipelineFactory;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.pipeline.RingWait;
import io.keelson.dataplane.pipeline.Stage;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * A running L4 gateway: the EAL, the profile's ports, one mbuf pool, and per RX queue a pipeline
 * (parse → classify → forward → transmit) fed by a pinned poller agent. Configuration changes go
 * through {@link #tables()}; counters through {@link #counters()} and {@link #stages()}.
 *
 * <p>Threading: start and close from one thread; the pollers and ring stages run on their own threads.
 */
public final class GatewayRuntime implements AutoCloseable {
  /** Port roles the gateway never polls or routes: the exception port is special, a sink only takes TX. */
  static final String EXCEPTION = "exception";
  static final String SINK = "sink";
  private static final int RING_SIZE = 1024;
  static final String RING_WAIT_PROP = "keelson.gateway.ring-wait";
  private static final java.util.concurrent.atomic.AtomicInteger POOLS = new java.util.concurrent.atomic.AtomicInteger();

  private final GatewaySettings settings;
  private final Map<String, DpdkPort> portsByRole = new LinkedHashMap<>();
  private final List<String> createdVdevs = new ArrayList<>();
  private final List<AgentRunner> runners = new ArrayList<>();
  private final List<Pipeline<GatewayEvent>> pipelines = new ArrayList<>();
  /** The stages ring workers run (disruptor wiring only; inline they run on the pollers). */
  private final List<GatewayBurstStage> ringStages = new CopyOnWriteArrayList<>();
  private final List<PortCounters> counters = new ArrayList<>();
  private final Mempool pool;
  private final GatewayTables tables;
  private final GatewayStages stages;
  private DpdkPort exceptionPort;
  private long startedNanos;

  private GatewayRuntime(GatewaySettings settings) {
    this.settings = settings;
    HardwareProfile profile = settings.profile();
    Dpdk.initEal(ealArguments(settings));
    Dpdk.registerThread();
    // Pool names are process-wide in DPDK; a counter keeps a second runtime (tests) from colliding.
    pool = Mempool.create("keelson-gw-" + POOLS.incrementAndGet(), profile.mbufPool().size(),
        profile.mbufPool().cache(), profile.mbufPool().dataRoom(), Mempool.SOCKET_ANY);
    createPorts(profile);
    int queues = profile.queues().rx();
    for (Map.Entry<String, DpdkPort> e : portsByRole.entrySet()) {
      boolean wire = isWire(e.getKey());
      DpdkPort port = e.getValue();
      port.configure(new PortSettings(wire ? queues : 1, queues, profile.queues().rxRing(),
          profile.queues().txRing(), wire ? profile.rxOffloads() : 0, wire ? profile.txOffloads() : 0,
          profile.rssHash()), pool);
      port.start();
      if (wire && profile.promiscuous()) {
        try {
          port.promiscuous(true);
        } catch (DpdkException ignored) {
          // Not every PMD has a promiscuous switch (net_null); the MAC filter is then the PMD's.
        }
      }
    }
    tables = new GatewayTables(config(settings));
    stages = new GatewayStages(tables, System::nanoTime);
  }

  /** Starts the EAL, the ports and one poller per RX queue. */
  public static GatewayRuntime start(GatewaySettings settings) {
    GatewayRuntime runtime = new GatewayRuntime(settings);
    runtime.startedNanos = System.nanoTime();
    runtime.startPollers();
    return runtime;
  }

  private static List<String> ealArguments(GatewaySettings s) {
    List<String> args = new ArrayList<>(s.profile().ealArgs());
    for (PortProfile p : s.profile().ports()) {
      if (p.pci() != null) {
        args.addAll(p.ealArguments()); // virtual devices are created after start-up, see createPorts
      }
    }
    if (!s.extraEalArgs().contains("--file-prefix")) {
      args.addAll(List.of("--file-prefix", "keelson-gw-" + ProcessHandle.current().pid()));
    }
    args.addAll(s.extraEalArgs());
    return args;
  }

  private void createPorts(HardwareProfile profile) {
    long wireMac = 0;
    for (PortProfile p : profile.ports()) {
      if (p.name().equals(EXCEPTION)) {
        continue;
      }
      if (p.vdev() != null) {
        Dpdk.createVdev(p.vdev(), p.args());
        createdVdevs.add(p.vdev());
      }
      DpdkPort port = DpdkPort.byName(p.deviceName());
      portsByRole.put(p.name(), port);
      if (wireMac == 0 && isWire(p.name())) {
        wireMac = port.mac();
      }
    }
    PortProfile exception = profile.port(EXCEPTION);
    if (exception != null && exception.vdev() != null) {
      // The kernel's tap interface wears the wire port's MAC: frames for the node's own address
      // then reach the kernel unchanged, and its ARP answers name the MAC the wire really has.
      String args = exception.args().contains("mac=") ? exception.args()
          : (exception.args().isEmpty() ? "" : exception.args() + ",") + "mac=" + macText(wireMac);
      Dpdk.createVdev(exception.vdev(), args);
      createdVdevs.add(exception.vdev());
      exceptionPort = DpdkPort.byName(exception.vdev());
      portsByRole.put(EXCEPTION, exceptionPort);
    }
  }

  private GatewayConfig config(GatewaySettings s) {
    GatewayConfig.Builder b = GatewayConfig.builder();
    for (Map.Entry<String, String> e : s.portAddresses().entrySet()) {
      DpdkPort port = portsByRole.get(e.getKey());
      if (port == null || !isWire(e.getKey())) {
        throw new IllegalArgumentException("--port-ip " + e.getKey() + "=...: the profile '" + s.profile().name()
            + "' has no wire port named '" + e.getKey() + "' (wire ports: " + wireRoles() + ")");
      }
      String[] parts = e.getValue().trim().split("\\s+via\\s+");
      b.addInterface(GatewayConfig.Interface.of(port.id(), parts[0], macText(port.mac()),
          parts.length > 1 ? parts[1] : null));
    }
    for (Map.Entry<String, String> e : s.portAddresses6().entrySet()) {
      DpdkPort port = portsByRole.get(e.getKey());
      if (port == null || !isWire(e.getKey())) {
        throw new IllegalArgumentException("--port-ip6 " + e.getKey() + "=...: the profile '" + s.profile().name()
            + "' has no wire port named '" + e.getKey() + "' (wire ports: " + wireRoles() + ")");
      }
      String[] parts = e.getValue().trim().split("\\s+via\\s+");
      b.addInterface6(Ipv6Config.Interface6.of(port.id(), parts[0], parts.length > 1 ? parts[1] : null));
    }
    for (String snat : s.snatAddresses()) {
      if (snat.indexOf(':') >= 0) {
        b.addSnatAddress6(snat);
      } else {
        b.addSnatAddress(snat);
      }
    }
    s.vips().forEach(b::addVip);
    s.vips6().forEach(b::addVip6);
    b.exceptionPath(exceptionPort != null);
    b.limits(s.limits());
    return b.build();
  }

  private void startPollers() {
    HardwareProfile profile = settings.profile();
    int queues = profile.queues().rx();
    DpdkPort[] byId = new DpdkPort[GatewayConfig.MAX_PORT_ID + 1];
    List<DpdkPort> wire = new ArrayList<>();
    for (Map.Entry<String, DpdkPort> e : portsByRole.entrySet()) {
      byId[e.getValue().id()] = e.getValue();
      if (isWire(e.getKey())) {
        wire.add(e.getValue());
      }
    }
    int wireForKernel = wire.isEmpty() ? -1 : wire.get(0).id();
    int exceptionId = exceptionPort == null ? -1 : exceptionPort.id();
    int burst = profile.burstSize();
    for (int q = 0; q < queues; q++) {
      PortCounters perQueue = new PortCounters(GatewayConfig.MAX_PORT_ID + 1);
      counters.add(perQueue);
      int txQueue = q;
      // Shard 0 of 1 for every queue, as before: return traffic is not steered by SNAT port yet.
      BitSet workerCpus = settings.mode() == PipelineMode.DISRUPTOR && settings.pinPollers()
          ? workerCpus(profile, q) : null;
      boolean ring = settings.mode() == PipelineMode.DISRUPTOR;
      List<Supplier<? extends Stage<GatewayEvent>>> wired = List.of(() -> {
        GatewayBurstStage stage = new GatewayBurstStage(stages.fusedForQueue(0, 1),
            new TransmitStage(byId, txQueue, exceptionId, pool, perQueue, burst), workerCpus);
        if (ring) {
          ringStages.add(stage);
        }
        return stage;
      });
      Pipeline<GatewayEvent> pipeline = PipelineFactory.create(settings.mode(), "gateway-q" + q, wired,
          () -> new GatewayEvent(burst), RING_SIZE, ringWait(profile.idle()));
      pipelines.add(pipeline);
      QueuePoller poller = new QueuePoller(q, wire.toArray(new DpdkPort[0]), exceptionPort, wireForKernel,
          pipeline, perQueue, burst);
      int cpu = settings.pinPollers() ? profile.cores().get(q) : -1;
      AgentRunner runner = new AgentRunner(poller, new IdleStrategy(profile.idle()), cpu);
      runners.add(runner);
      runner.start();
    }
  }

  /**
   * Where queue {@code q}'s ring worker runs: the profile's core after the pollers' ({@code cores[queues
   * + q]}) when it lists one, else any CPU the process may use except the pollers' (a worker that shares
   * its poller's core halves both), or null (no pinning) when that leaves none.
   */
  private static BitSet workerCpus(HardwareProfile profile, int q) {
    int queues = profile.queues().rx();
    BitSet cpus = new BitSet();
    if (profile.cores().size() > queues + q) {
      cpus.set(profile.cores().get(queues + q));
      return cpus;
    }
    cpus.or(CpuAffinity.current());
    for (int i = 0; i < queues && i < profile.cores().size(); i++) {
      cpus.clear(profile.cores().get(i));
    }
    return cpus.isEmpty() ? null : cpus;
  }

  /**
   * The ring worker waits like the poller idles: a profile that spins has dedicated cores, so the worker
   * busy-spins too (a blocking wait costs a futex wake-up per burst); yield yields; park blocks.
   * {@code -Dkeelson.gateway.ring-wait=blocking|yielding|busy_spin} overrides it (benchmarks).
   */
  static RingWait ringWait(IdleProfile idle) {
    String forced = System.getProperty(RING_WAIT_PROP);
    if (forced != null) {
      try {
        return RingWait.valueOf(forced.trim().toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("-D" + RING_WAIT_PROP + "=" + forced + " is not one of "
            + java.util.Arrays.toString(RingWait.values()), e);
      }
    }
    return switch (idle.strategy()) {
      case SPIN -> RingWait.BUSY_SPIN;
      case YIELD -> RingWait.YIELDING;
      case PARK -> RingWait.BLOCKING;
    };
  }

  private static boolean isWire(String role) {
    return !role.equals(EXCEPTION) && !role.equals(SINK);
  }

  private List<String> wireRoles() {
    return portsByRole.keySet().stream().filter(GatewayRuntime::isWire).toList();
  }

  static String macText(long mac) {
    StringBuilder sb = new StringBuilder();
    for (int shift = 40; shift >= 0; shift -= 8) {
      if (sb.length() > 0) {
        sb.append(':');
      }
      sb.append(String.format("%02x", (mac >>> shift) & 0xFF));
    }
    return sb.toString();
  }

  /** Swap in a new configuration (VIPs, backends): it applies from the next burst; tracked flows keep their backend. */
  public GatewayTables tables() {
    return tables;
  }

  /** Rebuilds the gateway config with new VIPs (same interfaces, SNAT and limits). */
  public void updateVips(List<GatewayConfig.Vip> vips, List<Ipv6Config.Vip6> vips6) {
    tables.update(config(settings.withVips(vips, vips6)));
  }

  /** Nanoseconds since the pollers started. */
  public long uptimeNanos() {
    return System.nanoTime() - startedNanos;
  }

  public GatewayStages stages() {
    return stages;
  }

  /** Ports by their profile role. */
  public Map<String, DpdkPort> ports() {
    return Map.copyOf(portsByRole);
  }

  /** A counter summed over every queue. */
  public long counter(String role, GatewayCounter counter) {
    DpdkPort port = portsByRole.get(role);
    long sum = 0;
    for (PortCounters c : counters) {
      sum += c.get(port.id(), counter);
    }
    return sum;
  }

  /** The first poller failure (a poller that threw stops), or null while all run. */
  public Throwable failure() {
    for (AgentRunner r : runners) {
      if (r.failure() != null) {
        return r.failure();
      }
    }
    return null;
  }

  /**
   * CPU time the ring workers have used (ns), summed: 0 inline (the pollers run the stages), -1 where the
   * JVM cannot tell. A disruptor wiring runs on the pollers' cores plus the workers', so its cost per
   * packet is (poller + worker) CPU, not poller CPU alone.
   */
  public long workerCpuNanos() {
    return sumCpu(ringStages, GatewayBurstStage::cpuNanos);
  }

  /**
   * CPU time the pollers have used (ns), summed: packets per poller CPU-second is the rate a shared,
   * noisy machine cannot distort the way it distorts wall-clock Mpps. -1 where the JVM cannot tell.
   */
  public long pollerCpuNanos() {
    return sumCpu(runners, AgentRunner::cpuNanos);
  }

  /** The threads' CPU time (ns) summed, -1 if the JVM cannot tell for one of them. */
  private static <T> long sumCpu(List<T> threads, ToLongFunction<T> cpuNanos) {
    long sum = 0;
    for (T t : threads) {
      long n = cpuNanos.applyAsLong(t);
      if (n < 0) {
        return -1;
      }
      sum += n;
    }
    return sum;
  }

  /** Events published and not yet transmitted, over every queue's pipeline (0 inline). */
  public long pipelineDepth() {
    long depth = 0;
    for (Pipeline<GatewayEvent> p : pipelines) {
      depth += p.depth();
    }
    return depth;
  }

  public GatewaySettings settings() {
    return settings;
  }

  /** Stops pollers, drains the pipelines, stops and closes the ports (the EAL stays: it cannot restart). */
  @Override
  public void close() {
    runners.forEach(AgentRunner::close);
    pipelines.forEach(Pipeline::close);
    for (Map.Entry<String, DpdkPort> e : portsByRole.entrySet()) {
      try {
        e.getValue().stop();
        e.getValue().close();
      } catch (DpdkException ignored) {
        // Closing is best effort: the process is going away or the device is already gone.
      }
    }
    for (String vdev : createdVdevs) {
      try {
        Dpdk.removeVdev(vdev);
      } catch (DpdkException ignored) {
        // Best effort, as above.
      }
    }
    // Closed ports have released their rings' mbufs: the pool can go.
    pool.close();
  }
}
