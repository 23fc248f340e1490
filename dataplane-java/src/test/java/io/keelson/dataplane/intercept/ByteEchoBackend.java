package io.keelson.dataplane.intercept;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A raw TCP backend: optionally speaks first (a server-first protocol's greeting, as MySQL or SMTP), then echoes every
 * byte it reads until the client's FIN, then closes. One virtual thread per connection.
 */
final class ByteEchoBackend implements AutoCloseable {
  final AtomicInteger connections = new AtomicInteger();
  private final ServerSocket server;
  private final byte[] greeting;

  /** @param greeting what the backend sends as soon as a connection is accepted, or null to wait for the client */
  ByteEchoBackend(byte[] greeting) throws IOException {
    this.greeting = greeting;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread.ofVirtual().name("echo-accept").start(this::accept);
  }

  int port() {
    return server.getLocalPort();
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket s = server.accept();
        connections.incrementAndGet();
        Thread.ofVirtual().start(() -> serve(s));
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void serve(Socket s) {
    try (s; InputStream in = s.getInputStream(); OutputStream out = s.getOutputStream()) {
      if (greeting != null) {
        out.write(greeting);
        out.flush();
      }
      byte[] buf = new byte[4096];
      for (int n; (n = in.read(buf)) >= 0; ) {
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // the client went away
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
