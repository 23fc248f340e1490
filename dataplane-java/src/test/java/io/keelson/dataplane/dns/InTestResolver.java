package io.keelson.dataplane.dns;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.HexFormat;
import java.util.function.BiFunction;

/**
 * A resolver for tests on a UDP socket on 127.0.0.1: each query (as hex, with its sender) goes to {@code answers},
 * whose hex is sent back (null: silent). Serves on a virtual thread until closed.
 */
final class InTestResolver implements AutoCloseable {
  private static final HexFormat HEX = HexFormat.of();

  private final DatagramSocket socket;
  private final Thread thread;
  private final BiFunction<String, SocketAddress, String> answers;

  InTestResolver(BiFunction<String, SocketAddress, String> answers) throws java.net.SocketException {
    this.answers = answers;
    this.socket = new DatagramSocket(new InetSocketAddress("127.0.0.1", 0));
    this.thread = Thread.ofVirtual().start(this::serve);
  }

  private void serve() {
    byte[] buf = new byte[4096];
    while (!socket.isClosed()) {
      try {
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        socket.receive(p);
        String answer = answers.apply(HEX.formatHex(buf, 0, p.getLength()), p.getSocketAddress());
        if (answer != null) {
          byte[] bytes = HEX.parseHex(answer);
          socket.send(new DatagramPacket(bytes, bytes.length, p.getSocketAddress()));
        }
      } catch (java.io.IOException e) {
        return;
      }
    }
  }

  InetSocketAddress address() {
    return (InetSocketAddress) socket.getLocalSocketAddress();
  }

  /** Sends {@code hex} from the resolver's socket (a late or forged answer). */
  void send(String hex, SocketAddress to) throws java.io.IOException {
    byte[] bytes = HEX.parseHex(hex);
    socket.send(new DatagramPacket(bytes, bytes.length, to));
  }

  /** Sends {@code hex} from {@code app} to {@code server} and returns the answer as hex. */
  static String exchange(DatagramSocket app, InetSocketAddress server, String hex) throws java.io.IOException {
    byte[] q = HEX.parseHex(hex);
    app.send(new DatagramPacket(q, q.length, server));
    DatagramPacket r = new DatagramPacket(new byte[4096], 4096);
    app.receive(r);
    return HEX.formatHex(r.getData(), 0, r.getLength());
  }

  @Override
  public void close() throws InterruptedException {
    socket.close();
    thread.join(2000);
  }
}
