package io.keelson.dataplane.testing;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The proxies and peers one test started, closed last-first when the test ends (call {@link #close}
 * from {@code @AfterEach}). Proxies start from bootstrap YAML with an inline pipeline, an admin port
 * and a short drain, on ephemeral ports. Not thread-safe; one per test instance.
 */
public final class RunningProxies implements AutoCloseable {
  private final List<AutoCloseable> closeables = new ArrayList<>();

  /** Closes {@code c} with the others when the test ends. */
  public <T extends AutoCloseable> T keep(T c) {
    closeables.add(c);
    return c;
  }

  /** A proxy with {@code workers} event-loop threads, closed when the test ends. */
  public ProxyServer start(String yaml, int workers) throws Exception {
    return keep(startDetached(yaml, workers));
  }

  /** A proxy on {@code transport} with {@code workers} event-loop threads, closed when the test ends. */
  public ProxyServer start(String yaml, int workers, io.keelson.dataplane.transport.Transport transport) throws Exception {
    return keep(new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"),
        ProxyOptions.defaults().withConcurrency(workers).withPipeline(PipelineMode.INLINE).withAdmin("127.0.0.1", 0)
            .withDrainTime(Duration.ofSeconds(1)).withTransport(transport)).start());
  }

  /** A proxy the caller closes itself. */
  public static ProxyServer startDetached(String yaml, int workers) throws Exception {
    return startDetached(yaml, workers, Duration.ofSeconds(1));
  }

  /** A proxy with drain time {@code drainTime} (shutdown, /drain_listeners, a removed listener) the caller closes itself. */
  public static ProxyServer startDetached(String yaml, int workers, Duration drainTime) throws Exception {
    return new ProxyServer(BootstrapLoader.fromYaml(yaml, "test.yaml"),
        ProxyOptions.defaults().withConcurrency(workers).withPipeline(PipelineMode.INLINE).withAdmin("127.0.0.1", 0)
            .withDrainTime(drainTime)).start();
  }

  /** The body of a GET on the proxy's admin port. */
  public static String admin(ProxyServer p, String path) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + p.adminAddress().getPort() + path)).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  @Override
  public void close() throws Exception {
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
    closeables.clear();
  }
}
