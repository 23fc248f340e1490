package io.keelson.control.cli;

import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.AdsSource;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.config.envoy.NodeIdentity;
import io.keelson.dataplane.config.envoy.StaticBootstrap;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.server.StartupHeap;
import io.keelson.dataplane.transport.Transport;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** {@code bin/keelson proxy}: runs the data plane until SIGTERM/SIGINT, then drains. */
final class ProxyCommand {
  static final String HELP =
      """
      usage: bin/keelson proxy --config FILE [options]
             bin/keelson proxy --xds HOST:PORT --service NAME --app-port N [options]   (sidecar, see --help below)

        --config FILE         Envoy v3 bootstrap (YAML or JSON): static_resources listeners and clusters,
                              and dynamic_resources (ADS over gRPC, state of the world or delta)
        --admin HOST:PORT     admin listener (default: the bootstrap's admin address, else 127.0.0.1:9901)
        --concurrency N       event loops (default: number of cores), as Envoy's --concurrency
        --transport T         auto | epoll | io_uring | nio (default auto: io_uring, else epoll, else nio)
        --pipeline P          inline | disruptor: where routing stages run (default inline)
        --drain-time SECONDS  how long shutdown, and a listener an update removes, wait for in-flight
                              requests before closing what is left (default 5)
        --tls-offload M       off | auto | require: kernel TLS for TLS 1.3 server connections (default auto:
                              where the kernel accepts TCP_ULP "tls", else user-space BoringSSL as before;
                              require: refuse to start without it; off: never probe). docs/protocols-tls-l4.md

      SIGTERM or Ctrl-C stops accepting, finishes in-flight requests, closes idle connections and exits.
      """ + "\n" + SidecarCommand.HELP;

  private ProxyCommand() {}

  static int run(String[] argv) {
    if (argv.length == 1 && (argv[0].equals("--help") || argv[0].equals("-h"))) {
      System.out.print(HELP);
      return 0;
    }
    java.util.Set<String> withValue = new java.util.HashSet<>(
        Set.of("--config", "--admin", "--concurrency", "--transport", "--pipeline", "--drain-time", "--tls-offload"));
    withValue.addAll(SidecarCommand.OPTIONS);
    Args args = new Args("proxy", argv, withValue, Set.of(SidecarCommand.PRINT_BOOTSTRAP, SidecarCommand.DNS_CAPTURE,
        SidecarCommand.GATEWAY, SidecarCommand.IPV6));
    if (args.has("--xds") && !args.has("--config")) {
      return SidecarCommand.run(args); // sidecar mode: the bootstrap is generated
    }
    String config = args.get("--config", null);
    if (config == null) {
      System.err.print("keelson proxy: --config FILE is required\n\n" + HELP);
      return 2;
    }
    StaticBootstrap bootstrap;
    AdsSource ads;
    try {
      bootstrap = BootstrapLoader.loadBootstrap(Path.of(config));
      ads = BootstrapLoader.loadAdsSource(Path.of(config));
    } catch (ConfigException e) {
      System.err.println("keelson proxy: " + e.getMessage());
      return 1;
    }
    ProxySnapshot snapshot = bootstrap.snapshot();
    snapshot.warnings().forEach(w -> System.err.println("keelson proxy: warning: " + w));
    ProxyOptions options;
    try {
      // dynamic_resources: not live before the xDS client's first configuration (Envoy's init manager)
      options = options(args, bootstrap).withAwaitsXds(ads != null);
    } catch (IllegalArgumentException | IllegalStateException e) {
      System.err.println("keelson proxy: " + e.getMessage());
      return 2;
    }
    ProxyServer server = new ProxyServer(snapshot, options);
    try {
      // The bootstrap's node names this workload in the istio_* metrics' source/destination labels.
      String text = Files.readString(Path.of(config));
      server.stats().identity(NodeIdentity.fromBootstrap(text, config));
      server.context().serviceCluster(NodeIdentity.serviceCluster(text, config)); // Zipkin's local service name
    } catch (ConfigException | java.io.IOException e) {
      System.err.println("keelson proxy: " + e.getMessage());
      return 1;
    }
    try {
      server.start();
    } catch (IllegalStateException | InterruptedException e) {
      System.err.println("keelson proxy: " + e.getMessage());
      return 1;
    }
    // Start-up garbage out of the young generation before traffic: short young pauses (docs/performance.md).
    StartupHeap.settle();
    CountDownLatch terminate = TerminationSignals.install();
    printStarted(server, snapshot);
    // With dynamic_resources, xDS updates replace the snapshot; listeners are the ones bound at start.
    XdsClient xds = ads == null ? null : XdsClient.startInstalling(XdsClientConfig.fromBootstrap(ads), server::install);
    if (xds != null) {
      server.attach(xds);
      System.err.printf("keelson proxy: xDS (%s) from %s:%d via cluster %s%n",
          ads.delta() ? "delta" : "state of the world", ads.host(), ads.port(), ads.clusterName());
    }
    try {
      terminate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    System.err.println("keelson proxy: draining (up to " + options.drainTime().toSeconds() + " s)");
    if (xds != null) {
      xds.close();
    }
    server.close();
    System.err.println("keelson proxy: stopped");
    return 0;
  }

  static ProxyOptions options(Args args, StaticBootstrap bootstrap) {
    ProxyOptions o = ProxyOptions.defaults();
    if (args.has("--concurrency")) {
      o = o.withConcurrency(args.getInt("--concurrency", 1));
    }
    o = o.withTransport(Transport.select(args.get("--transport", "auto")));
    o = o.withPipeline(PipelineMode.parse(args.get("--pipeline", "inline")));
    o = o.withTlsOffload(io.keelson.dataplane.tls.offload.TlsOffloadMode.parse(args.get("--tls-offload", "auto")));
    if (args.has("--drain-time")) {
      o = o.withDrainTime(Duration.ofSeconds(args.getInt("--drain-time", 5)));
    }
    Args.HostPort admin = args.hostPort("--admin", null);
    if (admin != null) {
      o = o.withAdmin(admin.host(), admin.port());
    } else {
      o = o.withAdmin(bootstrap.adminOrDefault().host(), bootstrap.adminOrDefault().port());
    }
    return o;
  }

  private static void printStarted(ProxyServer server, ProxySnapshot snapshot) {
    ProxyOptions o = server.options();
    System.err.printf("keelson proxy: %d event loop(s), transport %s, pipeline %s%n",
        o.concurrency(), o.transport().label(), o.pipeline().name().toLowerCase(java.util.Locale.ROOT));
    System.err.println("keelson proxy: kernel TLS offload " + server.tlsOffload().describe());
    snapshot.listeners().stream().filter(l -> l.http() != null).forEach(l ->
        System.err.println("keelson proxy: listener " + l.name() + " on " + server.listenerAddress(l.name())));
    if (server.adminAddress() != null) {
      System.err.println("keelson proxy: admin on http://" + hostPort(server.adminAddress()) + "/ (ready: /ready)");
    }
  }

  static String hostPort(java.net.InetSocketAddress a) {
    return a.getAddress().getHostAddress() + ":" + a.getPort();
  }
}
