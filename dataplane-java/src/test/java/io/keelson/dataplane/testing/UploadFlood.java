package io.keelson.dataplane.testing;

import static org.awaitility.Awaitility.await;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A client uploading a large body as fast as the proxy takes it, counting what it got to send: over HTTP/1.1 a raw
 * socket writing the head and the first MiB in one write (so the body is there while the request is routed), then the
 * rest; over h2c real curl ({@code -T -}) fed from a pipe. {@link #settled} waits until the count stops growing, which
 * bounds what the proxy accepted (its queues plus the sockets' buffers). {@link #close} resets the connection (kills
 * curl). Not thread-safe apart from the counter.
 */
public final class UploadFlood implements AutoCloseable {
  private static final int FIRST = 1 << 20;
  private static final int BLOCK = 16 * 1024;

  private final AtomicLong sent = new AtomicLong();
  private final Closeable resource;

  private UploadFlood(Closeable resource) {
    this.resource = resource;
  }

  /** POSTs {@code total} bytes to {@code path} over HTTP/1.1 with a content-length. */
  public static UploadFlood http1(int port, String path, long total) throws IOException {
    return http1(port, path, total, total);
  }

  /** Declares {@code total} bytes in the content-length of a POST to {@code path}, sends {@code send} of them. */
  public static UploadFlood http1(int port, String path, long total, long send) throws IOException {
    Socket client = new Socket();
    client.setSendBufferSize(64 * 1024);
    client.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    UploadFlood flood = new UploadFlood(() -> {
      client.setSoLinger(true, 0); // a reset: a FIN would wait behind the unsent bytes the proxy is not reading
      client.close();
    });
    OutputStream out = client.getOutputStream();
    byte[] head = ("POST " + path + " HTTP/1.1\r\nHost: x\r\ncontent-length: " + total + "\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII);
    byte[] first = new byte[head.length + (int) Math.min(FIRST, send)];
    System.arraycopy(head, 0, first, 0, head.length);
    flood.pump(out, first, head.length, send);
    return flood;
  }

  /** POSTs {@code send} bytes to {@code path} over h2c with curl reading them from its stdin (whose end is held). */
  public static UploadFlood h2c(int port, String path, long send) throws IOException {
    Process curl = new ProcessBuilder(List.of("curl", "-sS", "-m", "120", "--http2-prior-knowledge", "-X", "POST",
        "-T", "-", "-o", "/dev/null", "http://127.0.0.1:" + port + path))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    UploadFlood flood = new UploadFlood(() -> curl.destroyForcibly());
    flood.pump(curl.getOutputStream(), new byte[(int) Math.min(FIRST, send)], 0, send);
    return flood;
  }

  /** Writes {@code first}, then blocks up to {@code send} body bytes; the stream is left open. */
  private void pump(OutputStream out, byte[] first, int headLength, long send) {
    Thread.ofPlatform().daemon().name("upload-flood").start(() -> {
      try {
        out.write(first);
        sent.addAndGet(first.length - headLength);
        byte[] block = new byte[BLOCK];
        while (sent.get() < send) {
          int n = (int) Math.min(block.length, send - sent.get());
          out.write(block, 0, n);
          sent.addAndGet(n);
        }
        out.flush();
      } catch (IOException e) {
        // the proxy or curl went away (the test's close): the count stays as it was
      }
    });
  }

  /** The body bytes written so far. */
  public long sent() {
    return sent.get();
  }

  /** Waits until the client has been stuck for 1.5 s (or 30 s passed) and returns what it sent by then. */
  public long settled() throws Exception {
    return steady("bytes the client sent", sent::get, Duration.ofMillis(1500), Duration.ofSeconds(30));
  }

  /**
   * Waits until {@code value} reads the same twice {@code interval} apart (failing after {@code atMost}) and returns
   * it: a count that stopped growing.
   */
  public static long steady(String alias, Callable<Long> value, Duration interval, Duration atMost) throws Exception {
    long[] last = {-1};
    await(alias).atMost(atMost).pollInterval(interval).until(() -> {
      long now = value.call();
      boolean still = now == last[0];
      last[0] = now;
      return still;
    });
    return last[0];
  }

  @Override
  public void close() throws IOException {
    resource.close();
  }
}
