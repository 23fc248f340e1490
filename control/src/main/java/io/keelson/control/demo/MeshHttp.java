package io.keelson.control.demo;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A minimal HTTP/1.1 client over one kept-alive connection, as an app calls its sidecar's outbound
 * port with {@code Host: SERVICE} (java.net.http does not let a caller set Host). Not thread-safe.
 */
final class MeshHttp implements AutoCloseable {
  private final InetSocketAddress target;
  private Socket socket;
  private InputStream in;
  private OutputStream out;

  MeshHttp(InetSocketAddress target) {
    this.target = target;
  }

  /** GET path with this Host; returns x-served-by for a 200, else "status N"; reconnects on the next call after an I/O error. */
  String get(String host, String path) throws IOException {
    try {
      if (socket == null) {
        socket = new Socket();
        socket.connect(target, 2000);
        socket.setSoTimeout(5000);
        in = new BufferedInputStream(socket.getInputStream());
        out = socket.getOutputStream();
      }
      out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String status = line();
      if (status == null || !status.startsWith("HTTP/1.1 ")) {
        throw new IOException("unexpected status line '" + status + "'");
      }
      int code = Integer.parseInt(status.substring(9, 12));
      String servedBy = null;
      int length = 0;
      boolean close = false;
      for (String h = line(); h != null && !h.isEmpty(); h = line()) {
        int colon = h.indexOf(':');
        String name = h.substring(0, colon).trim().toLowerCase(Locale.ROOT);
        String value = h.substring(colon + 1).trim();
        switch (name) {
          case "content-length" -> length = Integer.parseInt(value);
          case "x-served-by" -> servedBy = value;
          case "connection" -> close = value.equalsIgnoreCase("close");
          default -> {}
        }
      }
      in.readNBytes(length);
      if (close) {
        close();
      }
      return code == 200 && servedBy != null ? servedBy : "status " + code;
    } catch (IOException | RuntimeException e) {
      close();
      throw e instanceof IOException io ? io : new IOException(e);
    }
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream(64);
    for (int c = in.read(); c != -1; c = in.read()) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.US_ASCII);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
    return null;
  }

  @Override
  public void close() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException ignored) {
        // closing a broken connection: nothing left to do
      }
      socket = null;
    }
  }
}
