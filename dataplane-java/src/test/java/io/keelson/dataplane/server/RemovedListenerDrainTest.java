package io.keelson.dataplane.server;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A listener removed while an exchange runs on it: the exchange finishes with a 200 whether the upstream's
 * response arrives whole or head first and body later (the drain lands between them), on a JDK client that
 * reuses its keep-alive connection and offers h2c.
 */
class RemovedListenerDrainTest {
  /** A keep-alive upstream answering each request; the one whose path starts with /hold waits for {@code go}. */
  static final class Upstream implements AutoCloseable {
    final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    final CountDownLatch holding = new CountDownLatch(1);
    final CountDownLatch go = new CountDownLatch(1);
    volatile String mode = "whole";
    final Thread acceptor;

    Upstream() throws Exception {
      acceptor = Thread.ofPlatform().daemon().start(() -> {
        while (!server.isClosed()) {
          try {
            Socket s = server.accept();
            Thread.ofPlatform().daemon().start(() -> serve(s));
          } catch (Exception e) {
            return;
          }
        }
      });
    }

    int port() {
      return server.getLocalPort();
    }

    void serve(Socket s) {
      try (s) {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        while (true) {
          String head = readHead(in);
          if (head == null) {
            return;
          }
          String path = head.split(" ")[1];
          byte[] body = ("body of " + path + "\n").repeat(10).getBytes(StandardCharsets.US_ASCII);
          String h = "HTTP/1.1 200 OK\r\ncontent-length: " + body.length + "\r\n\r\n";
          if (path.startsWith("/hold")) {
            holding.countDown();
            go.await(20, TimeUnit.SECONDS);
            if (mode.equals("split")) {
              out.write(h.getBytes(StandardCharsets.US_ASCII));
              out.flush();
              Thread.sleep(300);
              out.write(body);
              out.flush();
              continue;
            }
          }
          out.write(h.getBytes(StandardCharsets.US_ASCII));
          out.write(body);
          out.flush();
        }
      } catch (Exception e) {
        // done
      }
    }

    static String readHead(InputStream in) throws Exception {
      StringBuilder b = new StringBuilder();
      int c;
      while ((c = in.read()) >= 0) {
        b.append((char) c);
        if (b.length() >= 4 && b.substring(b.length() - 4).equals("\r\n\r\n")) {
          return b.toString();
        }
      }
      return null;
    }

    @Override
    public void close() throws Exception {
      server.close();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"whole", "split"})
  void removedListenerFinishesItsInFlightExchange(String mode) throws Exception {
    try (Upstream up = new Upstream();
        ProxyHarness proxy = new ProxyHarness(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", up.port())), PipelineMode.INLINE)) {
      up.mode = mode;
      var current = proxy.server.snapshot().config();
      ListenerConfig ingress = current.listeners().getFirst();
      ListenerConfig extra = new ListenerConfig("extra", "127.0.0.1", 0, ingress.http(), null, null, List.of(), false, List.of());
      proxy.server.update(new ProxySnapshot(current.version() + "+extra", List.of(ingress, extra), current.clusters(),
          current.configDump(), current.warnings()));
      int port = proxy.server.boundListeners().get("extra").getPort();
      HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
      assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/b")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
      var inFlight = http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/hold")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(up.holding.await(10, TimeUnit.SECONDS)).isTrue();
      proxy.server.update(current);
      up.go.countDown();
      assertThat(inFlight.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
    }
  }
}
