package io.keelson.bench.e2e;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Picks free loopback ports for the peers the bench starts (each its own). Thread-safe. */
final class FreePorts {
  private FreePorts() {
  }

  /**
   * A loopback port that was free a moment ago. The peer binds it soon after; the kernel hands
   * out ephemeral ports in rotation, so a collision in that window is very unlikely.
   */
  static int next() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot find a free loopback port", e);
    }
  }
}
