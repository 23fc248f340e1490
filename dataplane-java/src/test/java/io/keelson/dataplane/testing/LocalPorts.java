package io.keelson.dataplane.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;

/** Ports for peer processes the tests start (HAProxy, nginx): a free one picked just before, and a listen check. */
public final class LocalPorts {
  private LocalPorts() {}

  /** An ephemeral loopback port free right now. */
  public static int free() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /**
   * Whether a socket listens on {@code port} (the kernel's table: state 0A is LISTEN); not by connecting, since a
   * connection would reach (and be counted by) the peer.
   */
  public static boolean listening(int port) throws IOException {
    String local = String.format(":%04X", port);
    return Files.readAllLines(Path.of("/proc/net/tcp")).stream().skip(1).map(l -> l.trim().split("\\s+"))
        .anyMatch(f -> f[1].endsWith(local) && f[3].equals("0A"));
  }
}
