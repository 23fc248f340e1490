package io.keelson.dataplane.discovery;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP-only DNS server for a test: relays TCP connections at a port of its own to 127.0.0.1:{@code target} (a
 * {@link Dnsmasq}), counting them; the first {@code drop} connections are closed unanswered.
 */
final class TcpRelay implements AutoCloseable {
  final AtomicInteger connections = new AtomicInteger();
  private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  TcpRelay(int target) throws IOException {
    this(target, 0);
  }

  TcpRelay(int target, int drop) throws IOException {
    Thread.ofVirtual().start(() -> {
      while (!server.isClosed()) {
        try {
          Socket in = server.accept();
          if (connections.incrementAndGet() <= drop) {
            in.close();
            continue;
          }
          Socket out = new Socket(InetAddress.getLoopbackAddress(), target);
          sockets.add(in);
          sockets.add(out);
          Thread.ofVirtual().start(() -> pipe(in, out));
          Thread.ofVirtual().start(() -> pipe(out, in));
        } catch (IOException e) {
          return; // closed
        }
      }
    });
  }

  int port() {
    return server.getLocalPort();
  }

  private static void pipe(Socket from, Socket to) {
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      in.transferTo(out);
    } catch (IOException e) {
      // one side closed: the other follows
    } finally {
      try {
        to.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Socket s : sockets) {
      s.close();
    }
  }
}
