package io.keelson.dataplane.udp;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A UDP echo backend on 127.0.0.1: answers each datagram with {@code <name>:<payload>} to its sender, and remembers the
 * source addresses it saw (one per proxy session). Its own thread; closes when the test ends.
 */
public final class UdpEchoServer implements AutoCloseable {
  final String name;
  public final Set<SocketAddress> peers = ConcurrentHashMap.newKeySet();
  private final DatagramSocket socket;
  private final Thread thread;

  public UdpEchoServer(String name) throws SocketException {
    this.name = name;
    this.socket = new DatagramSocket(0, InetAddress.getLoopbackAddress());
    this.thread = Thread.ofPlatform().daemon().name("udp-echo-" + name).start(this::serve);
  }

  public int port() {
    return socket.getLocalPort();
  }

  private void serve() {
    byte[] buf = new byte[65_535];
    while (!socket.isClosed()) {
      try {
        DatagramPacket in = new DatagramPacket(buf, buf.length);
        socket.receive(in);
        peers.add(in.getSocketAddress());
        byte[] out = (name + ":" + new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8))
            .getBytes(StandardCharsets.UTF_8);
        socket.send(new DatagramPacket(out, out.length, in.getSocketAddress()));
      } catch (java.io.IOException e) {
        return; // closed
      }
    }
  }

  @Override
  public void close() throws InterruptedException {
    socket.close();
    thread.join(5_000);
  }
}
