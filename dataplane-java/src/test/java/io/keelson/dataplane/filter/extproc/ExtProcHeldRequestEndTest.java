package io.keelson.dataplane.filter.extproc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.http2.H2Client;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.RawHttp;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * ext_proc {@code request_trailer_mode: SEND} with a request that arrived whole while its headers were checked: its end
 * (the last chunk with its trailers) waits for the trailers' check after the head and body went upstream. While it
 * waits, the upstream connection is not reusable and a retry never writes the client's unchecked trailers. A raw
 * upstream records every byte each connection got.
 */
class ExtProcHeldRequestEndTest {
  private static final String FILTER = "processing_mode: { request_header_mode: SEND, response_header_mode: SKIP, "
      + "request_trailer_mode: SEND }\nmessage_timeout: 10s";
  private static final String UPLOAD = "POST /slow-one HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      + "5\r\nhello\r\n0\r\nx-client-trailer: c\r\nx-drop-trailer: d\r\n\r\n";
  private static final String RETRY_VHOSTS = """
      - name: main
        domains: ["*"]
        routes:
        - match: { prefix: "/" }
          route:
            cluster: a
            timeout: 30s
            retry_policy: { retry_on: "reset,5xx", num_retries: 2, per_try_timeout: 1s }
      """.indent(12);

  /**
   * The upstream answers as soon as it has a request head, before the held end: that connection must not carry the next
   * client request (it would ride inside the first one's unterminated chunked body: request smuggling).
   */
  @Test
  void anEarlyAnswerWhileTheEndIsHeldNeverPoolsTheConnection() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream(true);
        GrpcProcessorServer processor = new GrpcProcessorServer()) {
      processor.slowMillis = 1500;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(ExtProcProxyTest.VHOSTS,
          clusters(upstream, processor), ExtProcProxyTest.filter(FILTER)), PipelineMode.INLINE);
          RawHttp client = new RawHttp(proxy.port())) {
        client.send(UPLOAD);
        assertThat(client.read().status()).isEqualTo(200);
        client.send("GET /second HTTP/1.1\r\nHost: x\r\n\r\n");
        assertThat(client.read().status()).isEqualTo(200);
        String first = upstream.connections.get(0).toString();
        assertThat(first).startsWith("POST /slow-one").doesNotContain("GET /second");
        assertThat(upstream.connections).anySatisfy(c -> assertThat(c.toString()).startsWith("GET /second"));
      }
    }
  }

  /**
   * per_try_timeout retries while the trailers' check is slow: no attempt gets the trailer the processor removes, each
   * gets at most one end, and those after the answer get the processor's trailers.
   */
  @Test
  void aRetryWritesOnlyTheCheckedEndAndOnce() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream(false);
        GrpcProcessorServer processor = new GrpcProcessorServer()) {
      processor.slowMillis = 1600;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(RETRY_VHOSTS, clusters(upstream, processor),
          ExtProcProxyTest.filter(FILTER)), PipelineMode.INLINE);
          RawHttp client = new RawHttp(proxy.port())) {
        client.send(UPLOAD);
        assertThat(client.read().status()).isEqualTo(504);
        assertOnlyCheckedEnds(upstream);
      }
    }
  }

  /** The same over h2c to the HTTP/1 cluster: the next stream's request must not ride in the first's body. */
  @Test
  void anEarlyAnswerWhileTheEndIsHeldNeverPoolsTheConnectionForAnH2Client() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream(true);
        GrpcProcessorServer processor = new GrpcProcessorServer()) {
      processor.slowMillis = 1500;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(ExtProcProxyTest.VHOSTS,
          clusters(upstream, processor), ExtProcProxyTest.filter(FILTER)), PipelineMode.INLINE);
          H2Client client = new H2Client(proxy.port())) {
        assertThat(status(client, h2Upload())).isEqualTo(200);
        assertThat(status(client, new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/second")))
            .isEqualTo(200);
        String first = upstream.connections.get(0).toString();
        assertThat(first).startsWith("POST /slow-one").doesNotContain("GET /second");
        assertThat(upstream.connections).anySatisfy(c -> assertThat(c.toString()).startsWith("GET /second"));
      }
    }
  }

  /** per_try_timeout retries of an h2c request whose end waits for a slow check: only checked ends, one per attempt. */
  @Test
  void aRetryWritesOnlyTheCheckedEndAndOnceForAnH2Client() throws Exception {
    try (RecordingUpstream upstream = new RecordingUpstream(false);
        GrpcProcessorServer processor = new GrpcProcessorServer()) {
      processor.slowMillis = 1600;
      try (ProxyHarness proxy = new ProxyHarness(ProxyHarness.bootstrap(RETRY_VHOSTS, clusters(upstream, processor),
          ExtProcProxyTest.filter(FILTER)), PipelineMode.INLINE);
          H2Client client = new H2Client(proxy.port())) {
        assertThat(status(client, h2Upload())).isEqualTo(504);
        assertOnlyCheckedEnds(upstream);
      }
    }
  }

  private static FullHttpRequest h2Upload() {
    FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/slow-one",
        Unpooled.copiedBuffer("hello", StandardCharsets.US_ASCII));
    r.trailingHeaders().set("x-client-trailer", "c").set("x-drop-trailer", "d");
    return r;
  }

  private static int status(H2Client client, FullHttpRequest request) throws Exception {
    FullHttpResponse response = client.send(request).get(30, TimeUnit.SECONDS);
    try {
      return response.status().code();
    } finally {
      response.release();
    }
  }

  /** Three attempts (two retries), none with the removed trailer nor two ends; the last ends as the processor said. */
  private static void assertOnlyCheckedEnds(RecordingUpstream upstream) {
    await().atMost(10, TimeUnit.SECONDS).until(() -> upstream.connections.size() == 3);
    for (StringBuffer c : upstream.connections) {
      String bytes = c.toString();
      assertThat(bytes).startsWith("POST /slow-one").doesNotContain("x-drop-trailer");
      assertThat(bytes.split("\r\n0\r\n", -1).length - 1).as("request ends in %s", bytes).isLessThanOrEqualTo(1);
    }
    assertThat(upstream.connections.get(2).toString()).contains("\r\n0\r\n")
        .contains("x-request-trailer-added: processor").contains("x-client-trailer: c");
  }

  private static String clusters(RecordingUpstream upstream, GrpcProcessorServer processor) {
    return ProxyHarness.cluster("a", "ROUND_ROBIN", upstream.port())
        + ProxyHarness.cluster("processor", "ROUND_ROBIN", processor.port()) + "    http2_protocol_options: {}\n";
  }

  /** A raw HTTP/1.1 upstream: records each connection's bytes; answers each request head at once, or never. */
  private static final class RecordingUpstream implements AutoCloseable {
    final List<StringBuffer> connections = new CopyOnWriteArrayList<>();
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final ServerSocket server = new ServerSocket(0);

    RecordingUpstream(boolean answer) throws Exception {
      Thread.ofPlatform().daemon().start(() -> {
        try {
          while (true) {
            Socket s = server.accept();
            sockets.add(s);
            StringBuffer log = new StringBuffer();
            connections.add(log);
            Thread.ofPlatform().daemon().start(() -> serve(s, log, answer));
          }
        } catch (Exception e) {
          // closed
        }
      });
    }

    private static void serve(Socket s, StringBuffer log, boolean answer) {
      try (s) {
        InputStream in = s.getInputStream();
        OutputStream out = s.getOutputStream();
        byte[] buf = new byte[8192];
        int answered = 0;
        int n;
        while ((n = in.read(buf)) > 0) {
          log.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
          int heads = log.toString().split(" HTTP/1.1\r\n", -1).length - 1;
          while (answer && answered < heads) {
            out.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            answered++;
          }
        }
      } catch (Exception e) {
        // closed
      }
    }

    int port() {
      return server.getLocalPort();
    }

    @Override
    public void close() throws Exception {
      server.close();
      for (Socket s : sockets) {
        s.close();
      }
    }
  }
}
