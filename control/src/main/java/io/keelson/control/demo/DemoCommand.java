package io.keelson.control.demo;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.sidecar.Sidecar;
import io.keelson.control.sidecar.SidecarBootstrap;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.server.ProxyOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * {@code bin/keelson demo}: the control plane in-process, the sample service's v1 and v2 each behind
 * its own sidecar, a client sidecar; Istio's canary applied through the control plane's API and
 * shifted 90/10, 50/50, 0/100 while traffic flows; what went where at each step. Runs on the main thread.
 */
public final class DemoCommand {
  static final String HELP =
      """
      usage: bin/keelson demo [--port N] [--admin HOST:PORT] [--requests N] [--duration SECONDS]

        --port N            the client sidecar's outbound port on 127.0.0.1 (default 10000; 0 picks a free one)
        --admin HOST:PORT   the client sidecar's admin listener (default 127.0.0.1:9901)
        --requests N        requests measured at each step of the shift (default 400)
        --duration SECONDS  keep running this long after the shift (default: until Ctrl-C)

      The control plane and the other sidecars use free ports; the demo prints them.
      """;
  static final int[][] STEPS = {{90, 10}, {50, 50}, {0, 100}};
  private static final Duration APPLIED_WITHIN = Duration.ofSeconds(10);
  private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();

  private DemoCommand() {}

  public static int run(String[] argv) {
    Options o;
    try {
      o = Options.parse(argv);
    } catch (IllegalArgumentException e) {
      System.err.println("keelson demo: " + e.getMessage() + "\n\n" + HELP);
      return 2;
    }
    if (o == null) {
      System.out.print(HELP);
      return 0;
    }
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, o.port))) {
      // The Services first, as an operator applies them: each sidecar then registers to an existing Service.
      apply(HTTP, "http://127.0.0.1:" + cp.api.port(), STEPS[0][0], STEPS[0][1]);
      try (SampleService app1 = new SampleService("product", "v1").start("127.0.0.1", 0);
          SampleService app2 = new SampleService("product", "v2").start("127.0.0.1", 0);
          Sidecar v1 = sidecar(cp, "product-service", "v1", app1.port(), 0, "127.0.0.1", 0);
          Sidecar v2 = sidecar(cp, "product-service", "v2", app2.port(), 0, "127.0.0.1", 0);
          // The client's "app" is this demo; its inbound side points at v1's app only so it is well-formed.
          Sidecar client = sidecar(cp, "frontend", null, app1.port(), o.port, o.adminHost, o.adminPort)) {
        return demo(o, cp, app1, app2, v1, v2, client);
      }
    } catch (IllegalStateException e) {
      System.err.println("keelson demo: " + e.getMessage() + " (choose others with --port / --admin)");
      return 1;
    } catch (ConfigException | IOException | PolicyException e) {
      System.err.println("keelson demo: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  private static Sidecar sidecar(ControlPlane cp, String service, String version, int appPort, int outboundPort,
      String adminHost, int adminPort) throws ConfigException, InterruptedException {
    SidecarBootstrap b = new SidecarBootstrap("127.0.0.1", cp.xds.port(), service,
        version == null ? Map.of() : Map.of("version", version), appPort, 0, outboundPort, adminHost, adminPort);
    return Sidecar.start(b, ProxyOptions.defaults().withConcurrency(1), Duration.ofSeconds(1));
  }

  private static int demo(Options o, ControlPlane cp, SampleService app1, SampleService app2, Sidecar v1, Sidecar v2,
      Sidecar client) throws IOException, InterruptedException {
    String api = "http://127.0.0.1:" + cp.api.port();
    int outbound = client.outboundAddress().getPort();
    System.out.printf("Keelson demo: a service mesh on this machine%n");
    System.out.printf("  control plane    xDS 127.0.0.1:%d, API %s%n", cp.xds.port(), api);
    System.out.printf("  product v1       app 127.0.0.1:%d <- sidecar %s (inbound 127.0.0.1:%d)%n",
        app1.port(), v1.nodeId(), v1.inboundAddress().getPort());
    System.out.printf("  product v2       app 127.0.0.1:%d <- sidecar %s (inbound 127.0.0.1:%d)%n",
        app2.port(), v2.nodeId(), v2.inboundAddress().getPort());
    System.out.printf("  client sidecar   %s: outbound 127.0.0.1:%d (Host: product-service), admin http://127.0.0.1:%d/%n%n",
        client.nodeId(), outbound, client.server().adminAddress().getPort());

    Background load = new Background(client);
    Thread loader = null;
    boolean ok = true;
    try {
      for (int[] step : STEPS) {
        apply(HTTP, api, step[0], step[1]);
        if (!awaitApplied(cp, client)) {
          System.out.println("  the client sidecar did not take the change within " + APPLIED_WITHIN.toSeconds() + " s");
          return 1;
        }
        if (loader == null) {
          loader = Thread.ofVirtual().name("keelson-demo-traffic").start(load);
        }
        Map<String, Integer> counts = measure(client, o.requests);
        print("canary " + step[0] + "/" + step[1] + " (routes " + cp.xds.current().routesVersion() + " ACKed by every sidecar)",
            counts, o.requests);
        ok &= counts.keySet().stream().allMatch(k -> k.startsWith("product-"));
      }
    } finally {
      load.running.set(false);
      if (loader != null) {
        loader.join(10_000);
      }
    }
    System.out.printf("%nBackground traffic during the shifts: %d requests, %d failed%s%n", load.sent.get(),
        load.failed.get(), load.firstFailure.get() == null ? "" : " (first: " + load.firstFailure.get() + ")");
    ok &= load.failed.get() == 0;

    System.out.printf("%nTry it yourself:%n");
    System.out.printf("  curl -si -H 'Host: product-service' http://127.0.0.1:%d/products%n", outbound);
    System.out.printf("  bin/keelson status --server %s%n", api);
    System.out.printf("  bin/keelson explain --server %s --from frontend --to product-service --path /products%n", api);
    System.out.printf("  bin/keelson proxy-config --server %s %s routes%n", api, client.nodeId());
    System.out.printf("  bin/keelson apply --server %s -f examples/mesh/canary.yaml   (back to 90/10)%n", api);
    System.out.printf("  bin/keelson proxy --xds 127.0.0.1:%d --service product-service --labels version=v2 --app-port %d"
        + " --inbound-port 15106 --outbound-port 15101 --admin 127.0.0.1:9911   (one more v2 sidecar)%n",
        cp.xds.port(), app2.port());
    CountDownLatch stop = new CountDownLatch(1);
    Thread hook = new Thread(stop::countDown, "keelson-demo-stop");
    Runtime.getRuntime().addShutdownHook(hook);
    if (o.durationSeconds > 0) {
      System.out.printf("%nRunning for %d s (Ctrl-C stops it sooner).%n", o.durationSeconds);
      stop.await(o.durationSeconds, TimeUnit.SECONDS);
    } else {
      System.out.printf("%nRunning until Ctrl-C.%n");
      stop.await();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // Ctrl-C: the JVM is already exiting; the callers' finally blocks still close everything.
    }
    System.out.println(ok ? "Demo done: every request was served." : "Demo done, with errors (see above).");
    return ok ? 0 : 1;
  }

  /** Applies the mesh with this split through the HTTP API, as {@code bin/keelson apply} does. */
  private static String apply(HttpClient http, String api, int w1, int w2) throws IOException, InterruptedException {
    String yaml = mesh().replace("{{V1}}", Integer.toString(w1)).replace("{{V2}}", Integer.toString(w2));
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(api + "/v1/apply?file=demo-mesh.yaml"))
        .POST(HttpRequest.BodyPublishers.ofString(yaml)).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != 200) {
      throw new IOException("the control plane refused the demo's mesh (" + r.statusCode() + "): " + r.body());
    }
    return r.body();
  }

  /** Polls until every sidecar's proxy runs the control plane's current routes and clusters. */
  private static boolean awaitApplied(ControlPlane cp, Sidecar client) throws InterruptedException {
    long deadline = System.nanoTime() + APPLIED_WITHIN.toNanos();
    while (System.nanoTime() < deadline) {
      var want = cp.xds.current();
      var have = client.xds().lastSnapshot();
      boolean acked = cp.xds.status().stream().allMatch(p -> p.types().get("routes") != null
          && want.routesVersion().equals(p.types().get("routes").acked()));
      if (have != null && have.version().contains("RDS=" + want.routesVersion())
          && have.version().contains("CDS=" + want.clustersVersion()) && acked) {
        return true;
      }
      Thread.sleep(20); // polling the control plane's state; there is no change notification to wait on
    }
    return false;
  }

  private static Map<String, Integer> measure(Sidecar client, int n) {
    Map<String, Integer> counts = new TreeMap<>();
    try (MeshHttp http = new MeshHttp(client.outboundAddress())) {
      for (int i = 0; i < n; i++) {
        String who;
        try {
          who = http.get("product-service", "/products");
        } catch (IOException e) {
          who = "error";
        }
        counts.merge(who, 1, Integer::sum);
      }
    }
    return counts;
  }

  /** Requests through the client sidecar until stopped, counting failures. */
  private static final class Background implements Runnable {
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong sent = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicReference<String> firstFailure = new AtomicReference<>();
    private final Sidecar client;

    Background(Sidecar client) {
      this.client = client;
    }

    @Override
    public void run() {
      try (MeshHttp http = new MeshHttp(client.outboundAddress())) {
        while (running.get()) {
          String who;
          try {
            who = http.get("product-service", "/products");
          } catch (IOException e) {
            who = e.toString();
          }
          sent.incrementAndGet();
          if (!who.startsWith("product-")) {
            failed.incrementAndGet();
            firstFailure.compareAndSet(null, who);
          }
        }
      }
    }
  }

  private static void print(String title, Map<String, Integer> counts, int total) {
    System.out.println(title + ":");
    counts.forEach((who, c) -> System.out.printf("  %-14s %5d  %5.1f%%  %s%n", who, c, 100.0 * c / total, "#".repeat((int) Math.round(40.0 * c / total))));
  }

  private static String mesh() {
    try (InputStream in = DemoCommand.class.getResourceAsStream("/demo/mesh.yaml")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private record Options(int port, String adminHost, int adminPort, int requests, int durationSeconds) {
    /** Null for --help. */
    static Options parse(String[] argv) {
      int port = 10000, adminPort = 9901, requests = 400, duration = 0;
      String adminHost = "127.0.0.1";
      for (int i = 0; i < argv.length; i++) {
        String a = argv[i];
        if (a.equals("--help") || a.equals("-h")) {
          return null;
        }
        if (i + 1 >= argv.length) {
          throw new IllegalArgumentException("option " + a + " needs a value or is unknown");
        }
        String v = argv[++i];
        switch (a) {
          case "--port" -> port = number(a, v, 0, 65535);
          case "--requests" -> requests = number(a, v, 1, 1_000_000);
          case "--duration" -> duration = number(a, v, 0, Integer.MAX_VALUE);
          case "--admin" -> {
            int colon = v.lastIndexOf(':');
            if (colon <= 0) {
              throw new IllegalArgumentException("--admin expects HOST:PORT, got '" + v + "'");
            }
            adminHost = v.substring(0, colon);
            adminPort = number(a, v.substring(colon + 1), 0, 65535);
          }
          default -> throw new IllegalArgumentException("unknown option '" + a + "'");
        }
      }
      return new Options(port, adminHost, adminPort, requests, duration);
    }

    private static int number(String option, String v, int min, int max) {
      try {
        int n = Integer.parseInt(v);
        if (n < min || n > max) {
          throw new NumberFormatException();
        }
        return n;
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(option + " expects a number from " + min + " to " + max + ", got '" + v + "'");
      }
    }
  }
}
