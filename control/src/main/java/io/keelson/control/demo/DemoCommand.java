package io.keelson.control.demo;

import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/keelson demo}: two versions of a sample service behind the proxy with a 90/10 canary
 * split and a header route, some traffic, and what went where. Runs on the main thread.
 */
public final class DemoCommand {
  static final String HELP =
      """
      usage: bin/keelson demo [--port N] [--admin HOST:PORT] [--requests N] [--duration SECONDS]

        --port N            the proxy's port on 127.0.0.1 (default 10000; 0 picks a free one)
        --admin HOST:PORT   the admin listener (default 127.0.0.1:9901)
        --requests N        requests sent through the canary route (default 400)
        --duration SECONDS  stop after this long (default: run until Ctrl-C)
      """;

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
    try (SampleService v1 = new SampleService("product", "v1").start("127.0.0.1", 0);
        SampleService v2 = new SampleService("product", "v2").start("127.0.0.1", 0)) {
      String yaml = template()
          .replace("{{PROXY_PORT}}", Integer.toString(o.port))
          .replace("{{ADMIN_PORT}}", Integer.toString(o.adminPort))
          .replace("{{V1_PORT}}", Integer.toString(v1.port()))
          .replace("{{V2_PORT}}", Integer.toString(v2.port()));
      Path configFile = Files.createTempDirectory("keelson-demo").resolve("envoy-demo.yaml");
      Files.writeString(configFile, yaml);
      ProxySnapshot snapshot = BootstrapLoader.fromYaml(yaml, configFile.toString());
      ProxyServer proxy;
      try {
        proxy = new ProxyServer(snapshot, ProxyOptions.defaults().withAdmin(o.adminHost, o.adminPort)).start();
      } catch (IllegalStateException e) {
        System.err.println("keelson demo: " + e.getMessage() + " (choose others with --port / --admin)");
        return 1;
      }
      try {
        return demo(o, proxy, v1, v2, configFile);
      } finally {
        proxy.close();
      }
    } catch (ConfigException | IOException e) {
      System.err.println("keelson demo: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    }
  }

  private static int demo(Options o, ProxyServer proxy, SampleService v1, SampleService v2, Path config)
      throws IOException, InterruptedException {
    InetSocketAddress listen = proxy.listenerAddress("ingress");
    String base = "http://127.0.0.1:" + listen.getPort();
    System.out.printf("Keelson demo%n  product v1 on 127.0.0.1:%d, product v2 on 127.0.0.1:%d%n", v1.port(), v2.port());
    System.out.printf("  proxy on %s, admin on http://127.0.0.1:%d/%n", base, proxy.adminAddress().getPort());
    System.out.printf("  config (an Envoy v3 bootstrap): %s%n%n", config);

    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
    Map<String, Integer> canary = send(client, base + "/products", null, o.requests);
    print("canary route, no header (expect about 90% v1 / 10% v2)", canary, o.requests);
    int headerRequests = Math.max(20, o.requests / 10);
    Map<String, Integer> header = send(client, base + "/products", "v2", headerRequests);
    print("header route, x-version: v2 (expect 100% v2)", header, headerRequests);

    System.out.printf("%nTry it yourself:%n");
    System.out.printf("  curl -si %s/products%n", base);
    System.out.printf("  curl -si -H 'x-version: v2' %s/products%n", base);
    System.out.printf("  curl -s http://127.0.0.1:%d/stats/prometheus | grep rq_xx%n", proxy.adminAddress().getPort());
    System.out.printf("  bin/keelson proxy --config %s   (the same config, with your own services)%n", config);
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
    boolean ok = canary.getOrDefault("error", 0) == 0 && header.getOrDefault("error", 0) == 0;
    System.out.println(ok ? "Demo done: every request was served." : "Demo done, with errors (see above).");
    return ok ? 0 : 1;
  }

  private static Map<String, Integer> send(HttpClient client, String url, String version, int n) {
    Map<String, Integer> counts = new TreeMap<>();
    for (int i = 0; i < n; i++) {
      HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5));
      if (version != null) {
        b.header("x-version", version);
      }
      String who;
      try {
        HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
        who = r.statusCode() == 200 ? r.headers().firstValue("x-served-by").orElse("unknown") : "status " + r.statusCode();
      } catch (IOException e) {
        who = "error";
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      counts.merge(who, 1, Integer::sum);
    }
    return counts;
  }

  private static void print(String title, Map<String, Integer> counts, int total) {
    System.out.println(title + ":");
    counts.forEach((who, c) -> System.out.printf("  %-14s %5d  %5.1f%%  %s%n", who, c, 100.0 * c / total, "#".repeat((int) Math.round(40.0 * c / total))));
  }

  private static String template() {
    try (InputStream in = DemoCommand.class.getResourceAsStream("/demo/envoy-demo.yaml")) {
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
