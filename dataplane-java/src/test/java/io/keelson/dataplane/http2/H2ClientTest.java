package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The test client's {@link H2Client#close}: tests that make a client leave (ExtAuthzProxyTest's departed client, whose
 * check must be cancelled) rely on its connection being closed, not left open by an event loop that stopped first.
 */
class H2ClientTest {
  @Test
  void closeReturnsOnceTheConnectionIsClosedWithAStreamStillOpen() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      H2Client client = new H2Client(server.getLocalPort());
      try (Socket peer = server.accept()) {
        CompletableFuture<?> unanswered = client.send(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/"));
        InputStream in = peer.getInputStream();
        byte[] preface = in.readNBytes(24); // the client preface is written: the connection is up
        assertThat(new String(preface, java.nio.charset.StandardCharsets.US_ASCII)).startsWith("PRI * HTTP/2.0");

        client.close(); // the peer never answers: the stream is still open

        assertThat(client.connection.isOpen()).as("the connection once close() returned").isFalse();
        assertThatThrownBy(() -> unanswered.get(10, TimeUnit.SECONDS)).hasMessageContaining("stream closed without a response");
        peer.setSoTimeout(10_000);
        while (in.read() >= 0) { // the client's SETTINGS, HEADERS and GOAWAY, then the end of the connection
        }
      }
    }
  }

  @Test
  void closeAfterThePeerClosedReturnsAtOnce() throws Exception {
    try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      H2Client client = new H2Client(server.getLocalPort());
      server.accept().close();
      client.connection.closeFuture().await(10, TimeUnit.SECONDS);
      long start = System.nanoTime();
      client.close();
      assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start)).isLessThan(5);
    }
  }
}
