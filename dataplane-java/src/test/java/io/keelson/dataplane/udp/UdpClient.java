package io.keelson.dataplane.udp;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A UDP client with a socket of its own (so a session of its own at the proxy). Closes when the test ends. */
public final class UdpClient implements AutoCloseable {
  private final DatagramSocket socket;
  private final InetSocketAddress proxy;

  public UdpClient(String bindIp, InetSocketAddress proxy) throws IOException {
    this.socket = new DatagramSocket(new InetSocketAddress(InetAddress.getByName(bindIp), 0));
    this.proxy = proxy;
  }

  /** This client's address, "ip:port". */
  public String localAddress() {
    return socket.getLocalAddress().getHostAddress() + ":" + socket.getLocalPort();
  }

  public void send(String text) throws IOException {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    socket.send(new DatagramPacket(b, b.length, proxy));
  }

  /** The next datagram's text, or null when none arrives within {@code timeout}. */
  public String receive(Duration timeout) throws IOException {
    socket.setSoTimeout((int) timeout.toMillis());
    byte[] buf = new byte[65_535];
    DatagramPacket in = new DatagramPacket(buf, buf.length);
    try {
      socket.receive(in);
    } catch (SocketTimeoutException e) {
      return null;
    }
    if (!in.getSocketAddress().equals(proxy)) {
      throw new IOException("a datagram from " + in.getSocketAddress() + ", not from the proxy " + proxy);
    }
    return new String(in.getData(), 0, in.getLength(), StandardCharsets.UTF_8);
  }

  /**
   * Sends {@code text} until an answer arrives (UDP may lose a datagram; a session being set up holds them) and
   * returns it; fails after 5 tries of 3 s each.
   */
  public String ask(String text) throws IOException {
    for (int i = 0; i < 5; i++) {
      send(text);
      String answer = receive(Duration.ofSeconds(3));
      if (answer != null) {
        return answer;
      }
    }
    throw new IOException("no answer to '" + text + "' from the proxy " + proxy);
  }

  @Override
  public void close() {
    socket.close();
  }
}
