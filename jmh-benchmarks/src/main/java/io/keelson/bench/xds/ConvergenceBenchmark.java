package io.keelson.bench.xds;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.xds.XdsServer;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Issue 4's convergence benchmark: time from an {@code apply} until every simulated proxy has ACKed
 * the change, for N lightweight xDS clients in this JVM and M endpoints: route changes (the canary's
 * weights) and endpoint changes (a workload moves), plus the heap in use after convergence (control
 * plane and the clients' streams). Main thread only.
 *
 * <p>{@code java -cp ... io.keelson.bench.xds.ConvergenceBenchmark [PROXIES,... [ENDPOINTS,... [ROUNDS [sotw|delta]]]]}
 * (the simulated proxies speak state-of-the-world xDS unless {@code delta})
 */
public final class ConvergenceBenchmark {
  /**
   * One measured size: the median and worst of the route-change rounds, the same for the
   * endpoint-change rounds (one workload's port changes: every proxy gets new endpoint lists of the
   * service and its v1 subset), and the heap after the last one; {@code edsListsOmitted}: endpoint
   * lists left out of state-of-the-world responses in the endpoint rounds because the proxy held them.
   */
  record Result(int proxies, int endpoints, int rounds, double medianMillis, double maxMillis, long heapBytes,
      double edsMedianMillis, double edsMaxMillis, double applyMedianMillis, double edsApplyMedianMillis,
      String routeRounds, String endpointRounds, double cpuMedianMillis, double edsCpuMedianMillis,
      long edsListsOmitted) {
    String line() {
      return String.format("%8d %10d %7d %12.1f %12.1f %13.1f %12.1f %10.1f %13.1f %13.1f %12.1f %12.1f   RDS [%s] EDS [%s]",
          proxies, endpoints, rounds, medianMillis, maxMillis, edsMedianMillis, edsMaxMillis,
          heapBytes / (1024.0 * 1024.0), applyMedianMillis, edsApplyMedianMillis, cpuMedianMillis, edsCpuMedianMillis,
          routeRounds, endpointRounds);
    }
  }

  /** CPU time of this whole JVM (control plane and simulated proxies), all threads. */
  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    java.util.Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }

  /** Each round's time in ms, in the order they ran. */
  private static String rounds(double[] millis) {
    return java.util.Arrays.stream(millis).mapToObj(m -> String.valueOf(Math.round(m)))
        .collect(java.util.stream.Collectors.joining(" "));
  }

  private ConvergenceBenchmark() {}

  public static void main(String[] args) throws Exception {
    int[] proxies = ints(args.length > 0 ? args[0] : "1,100,1000");
    int[] endpoints = ints(args.length > 1 ? args[1] : "100,1000,10000");
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    boolean delta = args.length > 3 && args[3].equals("delta");
    if (args.length > 3 && !delta && !args[3].equals("sotw")) {
      throw new IllegalArgumentException("the 4th argument is sotw or delta, not " + args[3]);
    }
    PrintStream out = System.out;
    // "apply" columns: the median time until apply returned (parse, store, translation, snapshots handed to
    // the cache, responses queued), the rest of each round is delivery and the ACKs. "CPU": the median CPU
    // time the whole JVM (control plane and simulated proxies) spent on a round, which a busy machine
    // inflates far less than wall time.
    out.println(" proxies  endpoints  rounds  RDS med (ms) RDS max (ms)  EDS med (ms) EDS max (ms)  heap (MB)"
        + " RDS apply (ms) EDS apply (ms)  RDS CPU (ms) EDS CPU (ms)   each round (ms)");
    for (int p : proxies) {
      for (int e : endpoints) {
        out.println(run(p, e, rounds, delta).line() + (delta ? " (delta xDS)" : ""));
      }
    }
  }

  static Result run(int proxies, int endpoints, int rounds) throws Exception {
    return run(proxies, endpoints, rounds, false);
  }

  /** {@code delta}: the simulated proxies speak incremental xDS (only changed resources are sent). */
  static Result run(int proxies, int endpoints, int rounds, boolean delta) throws Exception {
    PolicyStore store = new PolicyStore();
    apply(store, registry(endpoints) + canary(90, 10));
    XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0);
    // Each simulated proxy has its own connection, as real ones do: on one shared HTTP/2 connection the
    // thousand streams queued behind one flow-control window. Their callbacks share two threads: with
    // gRPC's default cached pool the harness itself grew hundreds of threads on two cores.
    java.util.concurrent.ExecutorService clientThreads = java.util.concurrent.Executors.newFixedThreadPool(2, r -> {
      Thread t = new Thread(r, "bench-xds-clients");
      t.setDaemon(true);
      return t;
    });
    // -Dkeelson.bench.xds.splitCpu=true: the simulated proxies get event loops of their own (by default they
    // share gRPC's with the server), so the CPU of an endpoint round can be told apart: control plane vs proxies.
    boolean split = Boolean.getBoolean("keelson.bench.xds.splitCpu");
    var clientLoops = split ? new io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup(2,
        new io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory(CpuByRole.CLIENT_LOOP, true)) : null;
    List<ManagedChannel> channels = new ArrayList<>(proxies);
    List<SimulatedProxy> clients = new ArrayList<>(proxies);
    try {
      for (int i = 0; i < proxies; i++) {
        NettyChannelBuilder builder = NettyChannelBuilder.forAddress("127.0.0.1", xds.port()).usePlaintext()
            .executor(clientThreads).maxInboundMessageSize(64 * 1024 * 1024);
        if (clientLoops != null) {
          builder.eventLoopGroup(clientLoops)
              .channelType(io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel.class);
        }
        ManagedChannel channel = builder.build();
        channels.add(channel);
        SimulatedProxy c = delta ? new LightDeltaXdsClient("bench-" + i) : new LightXdsClient("bench-" + i);
        c.start(channel);
        clients.add(c);
      }
      // Measure from a quiet start: every proxy has its routes AND its endpoints (the first endpoint
      // lists are the biggest push; a round started while they are in flight times them, not the round).
      awaitRoutes(clients, xds.current().routesVersion(), 60_000);
      awaitEndpoints(clients, xds.current().endpointsVersion(), 120_000);
      double[] millis = new double[rounds];
      double[] applyMillis = new double[rounds];
      double[] edsApplyMillis = new double[rounds];
      double[] cpuMillis = new double[rounds];
      double[] edsCpuMillis = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        int v2 = 10 + (r % 2 == 0 ? 40 : 0) + r % 7; // a different split each round, so every apply changes the routes
        long start = System.nanoTime();
        long cpu = cpuNanos();
        apply(store, canary(100 - v2, v2));
        applyMillis[r] = (System.nanoTime() - start) / 1e6;
        long done = awaitRoutes(clients, xds.current().routesVersion(), 30_000);
        millis[r] = (done - start) / 1e6;
        cpuMillis[r] = (cpuNanos() - cpu) / 1e6;
      }
      double[] edsMillis = new double[rounds];
      double[][] byRole = new double[3][rounds];
      long[] omitted = new long[rounds];
      long applyCpu = 0;
      for (int r = 0; r < rounds; r++) {
        CpuByRole.Sample before = split ? CpuByRole.sample(applyCpu) : null;
        long omittedBefore = xds.endpointsOmitted();
        long start = System.nanoTime();
        long cpu = cpuNanos();
        long threadCpu = CpuByRole.currentThread();
        apply(store, extraWorkload(9000 + r));
        applyCpu += CpuByRole.currentThread() - threadCpu;
        edsApplyMillis[r] = (System.nanoTime() - start) / 1e6;
        long done = awaitEndpoints(clients, xds.current().endpointsVersion(), 60_000);
        edsMillis[r] = (done - start) / 1e6;
        edsCpuMillis[r] = (cpuNanos() - cpu) / 1e6;
        omitted[r] = xds.endpointsOmitted() - omittedBefore;
        if (split) {
          CpuByRole.Sample d = CpuByRole.sample(applyCpu).minus(before);
          byRole[0][r] = d.server() / 1e6;
          byRole[1][r] = d.clients() / 1e6;
          byRole[2][r] = (d.process() - d.server() - d.clients()) / 1e6;
        }
      }
      if (split) {
        System.out.printf("  endpoint rounds, CPU median (ms): control plane %.0f, simulated proxies %.0f,"
                + " rest (GC, JIT, waiting loop) %.0f; control plane per round [%s];"
                + " endpoint lists left out of SotW responses per round (proxies held them) %s%n",
            median(byRole[0]), median(byRole[1]), median(byRole[2]), rounds(byRole[0]), java.util.Arrays.toString(omitted));
      }
      System.gc();
      long heap = Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
      double[] sorted = millis.clone();
      java.util.Arrays.sort(sorted);
      double[] edsSorted = edsMillis.clone();
      java.util.Arrays.sort(edsSorted);
      java.util.Arrays.sort(applyMillis);
      java.util.Arrays.sort(edsApplyMillis);
      return new Result(proxies, endpoints, rounds, sorted[rounds / 2], sorted[rounds - 1], heap,
          edsSorted[rounds / 2], edsSorted[rounds - 1], applyMillis[rounds / 2], edsApplyMillis[rounds / 2],
          rounds(millis), rounds(edsMillis), median(cpuMillis), median(edsCpuMillis),
          java.util.Arrays.stream(omitted).sum());
    } finally {
      clients.forEach(SimulatedProxy::close);
      channels.forEach(ManagedChannel::shutdownNow);
      clientThreads.shutdownNow();
      xds.close();
      if (clientLoops != null) {
        clientLoops.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
      }
    }
  }

  private static long awaitRoutes(List<? extends SimulatedProxy> clients, String version, long timeoutMillis)
      throws InterruptedException {
    return await(clients, version, timeoutMillis, false);
  }

  private static long awaitEndpoints(List<? extends SimulatedProxy> clients, String version, long timeoutMillis)
      throws InterruptedException {
    return await(clients, version, timeoutMillis, true);
  }

  /** Waits until every client ACKed this routes (or endpoints) version; returns the latest ACK's time (System.nanoTime). */
  private static long await(List<? extends SimulatedProxy> clients, String version, long timeoutMillis, boolean endpoints)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (true) {
      long last = 0;
      int pending = 0;
      for (SimulatedProxy c : clients) {
        if (c.failure() != null) {
          throw new IllegalStateException("simulated proxy failed: " + c.failure(), c.failure());
        }
        if (version.equals(endpoints ? c.ackedEndpoints() : c.ackedRoutes())) {
          last = Math.max(last, endpoints ? c.ackedEndpointsAtNanos() : c.ackedRoutesAtNanos());
        } else {
          pending++;
        }
      }
      if (pending == 0) {
        return last;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(pending + " of " + clients.size() + " proxies did not ACK "
            + (endpoints ? "endpoints " : "routes ") + version
            + " within " + timeoutMillis + " ms");
      }
      Thread.onSpinWait();
      Thread.sleep(0, 200_000); // a coarse poll; the ACK time is taken by the clients themselves
    }
  }

  static String registry(int endpoints) {
    StringBuilder b = new StringBuilder("""
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: product-service }
        spec:
          ports: [ { name: http, port: 80 } ]
        """);
    for (int i = 0; i < endpoints; i++) {
      b.append("---\napiVersion: keelson.io/v1alpha1\nkind: Workload\nmetadata: { name: product-").append(i)
          .append(" }\nspec: { service: product-service, address: 10.").append(i / 65536 % 256).append('.')
          .append(i / 256 % 256).append('.').append(i % 256).append(", port: 8080, labels: { version: v")
          .append(i % 2 + 1).append(" } }\n");
    }
    return b.append("---\n").toString();
  }

  /** One more v1 workload, on {@code port}: each call moves it, so every apply changes the endpoints. */
  static String extraWorkload(int port) {
    return """
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: product-extra }
        spec: { service: product-service, address: 10.255.255.1, port: %d, labels: { version: v1 } }
        """.formatted(port);
  }

  static String canary(int v1, int v2) {
    return """
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product-service }
        spec:
          host: product-service
          subsets:
          - { name: v1, labels: { version: v1 } }
          - { name: v2, labels: { version: v2 } }
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: product-service }
        spec:
          hosts: [ product-service ]
          http:
          - route:
            - { destination: { host: product-service, subset: v1 }, weight: %d }
            - { destination: { host: product-service, subset: v2 }, weight: %d }
        """.formatted(v1, v2);
  }

  private static void apply(PolicyStore store, String yaml) throws Exception {
    List<Policy> policies = PolicyParser.parse("bench.yaml", yaml).policies();
    store.apply(policies, false);
  }

  private static int[] ints(String csv) {
    return java.util.Arrays.stream(csv.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
  }
}
