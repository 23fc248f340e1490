package io.keelson.bench.jmh;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.FileInputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;

/**
 * TLS 1.3 record seal (SSLEngine.wrap) and seal + open (wrap then unwrap on the peer) of one
 * application record, netty-tcnative BoringSSL ({@code OPENSSL}) against the JDK's SSLEngine, with
 * direct buffers as the proxy uses them. Open alone is the difference of the two (a record cannot be
 * opened twice). The key is an EC P-256 key made with keytool at set-up.
 */
public class TlsRecordBenchmark extends BenchmarkBase {
  @Param({"OPENSSL", "JDK"})
  public String provider;

  @Param({"1024", "16384"})
  public int size;

  private SSLEngine client;
  private SSLEngine server;
  private ByteBuffer plain;
  private ByteBuffer sealed;
  private ByteBuffer opened;

  @Setup
  public void setUp() throws Exception {
    SslProvider p = SslProvider.valueOf(provider);
    KeyManagerFactory kmf = keys();
    SslContext serverCtx = SslContextBuilder.forServer(kmf).sslProvider(p).protocols("TLSv1.3").build();
    SslContext clientCtx = SslContextBuilder.forClient().sslProvider(p).protocols("TLSv1.3")
        .trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null).build();
    client = clientCtx.newEngine(ByteBufAllocator.DEFAULT);
    server = serverCtx.newEngine(ByteBufAllocator.DEFAULT);
    int net = Math.max(client.getSession().getPacketBufferSize(), server.getSession().getPacketBufferSize()) + size;
    plain = ByteBuffer.allocateDirect(size);
    sealed = ByteBuffer.allocateDirect(net);
    opened = ByteBuffer.allocateDirect(Math.max(size, server.getSession().getApplicationBufferSize()) + 1024);
    handshake();
  }

  @TearDown
  public void tearDown() {
    io.netty.util.ReferenceCountUtil.release(client);
    io.netty.util.ReferenceCountUtil.release(server);
  }

  @Benchmark
  public int seal() throws SSLException {
    plain.clear();
    sealed.clear();
    return client.wrap(plain, sealed).bytesProduced();
  }

  @Benchmark
  public int sealThenOpen() throws SSLException {
    plain.clear();
    sealed.clear();
    client.wrap(plain, sealed);
    sealed.flip();
    opened.clear();
    int n = 0;
    while (sealed.hasRemaining()) {
      SSLEngineResult r = server.unwrap(sealed, opened);
      n += r.bytesProduced();
      if (r.bytesConsumed() == 0) {
        break;
      }
    }
    return n;
  }

  private void handshake() throws Exception {
    ByteBuffer c2s = ByteBuffer.allocateDirect(1 << 17);
    ByteBuffer s2c = ByteBuffer.allocateDirect(1 << 17);
    ByteBuffer sink = ByteBuffer.allocateDirect(1 << 17);
    ByteBuffer empty = ByteBuffer.allocateDirect(0);
    client.beginHandshake();
    server.beginHandshake();
    for (int i = 0; i < 1000 && !(done(client) && done(server)); i++) {
      step(client, empty, c2s, s2c, sink);
      step(server, empty, s2c, c2s, sink);
    }
    if (!(done(client) && done(server))) {
      throw new IllegalStateException("TLS handshake did not finish: " + client.getHandshakeStatus() + "/" + server.getHandshakeStatus());
    }
  }

  /** One engine's turn: run tasks, write what it has to send into {@code out}, read what the peer sent from {@code in}. */
  private static void step(SSLEngine e, ByteBuffer empty, ByteBuffer out, ByteBuffer in, ByteBuffer sink) throws SSLException {
    Runnable task;
    while ((task = e.getDelegatedTask()) != null) {
      task.run();
    }
    // Wrap every turn until both are done: BoringSSL can hold a flight (the client Finished) while
    // already reporting NOT_HANDSHAKING; an empty wrap on a finished engine produces nothing.
    e.wrap(empty, out);
    in.flip();
    while (in.hasRemaining()) {
      SSLEngineResult r = e.unwrap(in, sink);
      sink.clear();
      while ((task = e.getDelegatedTask()) != null) {
        task.run();
      }
      if (r.bytesConsumed() == 0) {
        break;
      }
    }
    in.compact();
  }

  private static boolean done(SSLEngine e) {
    var s = e.getHandshakeStatus();
    return s == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING || s == SSLEngineResult.HandshakeStatus.FINISHED;
  }

  private static KeyManagerFactory keys() throws Exception {
    Path dir = Files.createTempDirectory("keelson-tls-bench");
    Path store = dir.resolve("k.p12");
    String keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    Process p = new ProcessBuilder(keytool, "-genkeypair", "-alias", "k", "-keyalg", "EC", "-groupname", "secp256r1",
        "-dname", "CN=bench", "-validity", "2", "-storetype", "PKCS12", "-keystore", store.toString(),
        "-storepass", "changeit", "-keypass", "changeit").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (p.waitFor() != 0) {
      throw new IllegalStateException("keytool failed: " + out);
    }
    KeyStore ks = KeyStore.getInstance("PKCS12");
    try (FileInputStream in = new FileInputStream(store.toFile())) {
      ks.load(in, "changeit".toCharArray());
    }
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, "changeit".toCharArray());
    return kmf;
  }
}
