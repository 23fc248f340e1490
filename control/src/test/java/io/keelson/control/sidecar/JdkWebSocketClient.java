package io.keelson.control.sidecar;

import io.keelson.dataplane.testing.WebSocketCollector;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The JDK's WebSocket client (java.net.http) in its own JVM: it opens {@code ws://127.0.0.1:<port>/ws} with
 * {@code Host: <host>} (a sidecar's outbound routes by Host; the JDK sends another Host only when started with
 * {@code -Djdk.httpclient.allowRestrictedHeaders=host}, read once per JVM, hence the process), sends a text and a
 * 150 kB binary message, expects {@link io.keelson.dataplane.testing.WebSocketEchoServer}'s echoes, closes with 1000
 * and prints one line per step. {@link #run} starts it and returns those lines.
 */
public final class JdkWebSocketClient {
  private JdkWebSocketClient() {}

  /** Runs the client against {@code port} with {@code host}; its output lines (the last is "exit N"). */
  static List<String> run(int port, String host) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Djdk.httpclient.allowRestrictedHeaders=host", "-cp", System.getProperty("java.class.path"),
        JdkWebSocketClient.class.getName(), String.valueOf(port), host).redirectErrorStream(true).start();
    List<String> lines = new ArrayList<>(p.inputReader().lines().toList());
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
    }
    lines.add("exit " + p.exitValue());
    return lines;
  }

  public static void main(String[] args) throws Exception {
    WebSocketCollector collector = new WebSocketCollector();
    LinkedBlockingQueue<Object> received = collector.received;
    WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder().header("Host", args[1])
        .buildAsync(URI.create("ws://127.0.0.1:" + args[0] + "/ws"), collector).get(20, TimeUnit.SECONDS);
    System.out.println("open");
    ws.sendText("hello", true).get(20, TimeUnit.SECONDS);
    System.out.println("text " + received.poll(20, TimeUnit.SECONDS));
    byte[] binary = new byte[150_000];
    for (int i = 0; i < binary.length; i++) {
      binary[i] = (byte) (i * 13 + (i >> 10));
    }
    ws.sendBinary(ByteBuffer.wrap(binary), true).get(20, TimeUnit.SECONDS);
    Object echoed = received.poll(20, TimeUnit.SECONDS);
    System.out.println("binary " + (echoed instanceof byte[] b && Arrays.equals(b, binary) ? "equal" : "differs"));
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(20, TimeUnit.SECONDS);
    System.out.println("closed " + collector.closed.get(20, TimeUnit.SECONDS));
  }
}
