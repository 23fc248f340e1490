package io.keelson.dataplane.testing;

import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import javax.net.ssl.SSLServerSocket;

/**
 * A JDK TLS 1.3 server for one connection that answers only at the end of what it is sent: it reads until the peer's
 * close_notify, then writes {@code got <n>} and closes. A proxy that passes a half-close under TLS without close_notify
 * (or not at all) never gets the answer. Its cluster trusts a CA of its own ({@link #cluster}).
 */
public final class TlsCountingTarget implements AutoCloseable {
  /** The bytes read before the peer's end, once it came. */
  public final CompletableFuture<Integer> read = new CompletableFuture<>();
  private final SSLServerSocket server;
  private final Path caFile;

  public TlsCountingTarget() throws Exception {
    TestCa ca = new TestCa("tls-target-ca");
    caFile = ca.write(Files.createTempDirectory("tls-target"), "ca.crt");
    server = (SSLServerSocket) ca.issue("target", "localhost").clientContext(ca).getServerSocketFactory()
        .createServerSocket(0, 50, InetAddress.getLoopbackAddress());
    server.setEnabledProtocols(new String[] {"TLSv1.3"}); // a close_notify ends one direction only
    Thread.ofVirtual().start(() -> {
      try (Socket s = server.accept()) {
        s.setSoTimeout(15_000);
        byte[] all = s.getInputStream().readAllBytes();
        read.complete(all.length);
        s.getOutputStream().write(("got " + all.length).getBytes(StandardCharsets.US_ASCII));
        s.getOutputStream().flush();
      } catch (Exception e) {
        read.completeExceptionally(e);
      }
    });
  }

  /** A STATIC cluster {@code name} (a {@link ProxyHarness#bootstrap} clusters item) originating TLS to this target. */
  public String cluster(String name) {
    return ProxyHarness.cluster(name, "ROUND_ROBIN", server.getLocalPort()) + TlsYaml.upstreamTls(TlsYaml.trustingCa(caFile));
  }

  @Override
  public void close() throws Exception {
    server.close();
  }
}
