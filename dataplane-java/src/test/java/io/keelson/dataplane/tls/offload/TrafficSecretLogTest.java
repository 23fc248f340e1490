package io.keelson.dataplane.tls.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.testing.TestCa;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.internal.tcnative.SSL;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The key-log capture on real handshakes between BoringSSL (server, netty-tcnative) and the JDK's TLS 1.3 client
 * (an independent implementation): the captured secrets belong to the connection (its ClientHello random, the
 * suite's hash length), and the keys derived from them decrypt the first application record each side sends
 * with record sequence 0, which is what the kernel would be given: so the context really sends no tickets.
 */
class TrafficSecretLogTest {
  static TestCa ca;
  static TestCa.Leaf server;

  @BeforeAll
  static void certificates() throws Exception {
    assumeTrue(OpenSsl.isAvailable(), "netty-tcnative does not load here: " + OpenSsl.unavailabilityCause());
    ca = new TestCa("ktls-test-ca");
    server = ca.issue("localhost", "localhost");
  }

  @ParameterizedTest
  @EnumSource(OffloadCipher.class)
  void capturesThisConnectionsSecretsAndTheirKeysDecryptSequenceZero(OffloadCipher suite) throws Exception {
    SslContext ctx = SslContextBuilder.forServer(server.key(), server.cert()).sslProvider(SslProvider.OPENSSL)
        .protocols("TLSv1.3").build();
    TrafficSecretLog log = new TrafficSecretLog();
    assertThat(log.install(ctx)).isTrue();
    ReferenceCountedOpenSslEngine s = (ReferenceCountedOpenSslEngine) ctx.newEngine(ByteBufAllocator.DEFAULT);
    try {
      long ssl = s.sslPointer();
      log.expect(ssl);
      SSLEngine c = ca.clientContext().createSSLEngine("localhost", 443);
      c.setUseClientMode(true);
      c.setEnabledProtocols(new String[] {"TLSv1.3"});
      c.setEnabledCipherSuites(new String[] {suite.ianaName});
      handshake(c, s);

      assertThat(OffloadCipher.fromName(s.getSession().getCipherSuite())).isEqualTo(suite);
      TrafficSecretLog.Secrets secrets = log.take(ssl);
      assertThat(log.pending()).isZero();
      assertThat(secrets.complete()).isTrue();
      assertThat(secrets.clientTraffic()).hasSize(suite.secretLength);
      assertThat(secrets.serverTraffic()).hasSize(suite.secretLength);
      assertThat(secrets.clientRandom()).isEqualTo(SSL.getClientRandom(ssl));

      byte[] fromServer = wrap(s, "hello from BoringSSL");
      assertThat(decryptRecord(suite, secrets.serverTraffic(), fromServer)).isEqualTo("hello from BoringSSL");
      byte[] fromClient = wrap(c, "hello from the JDK");
      assertThat(decryptRecord(suite, secrets.clientTraffic(), fromClient)).isEqualTo("hello from the JDK");
    } finally {
      ReferenceCountUtil.release(s);
      ReferenceCountUtil.release(ctx);
    }
  }

  @Test
  void ignoresConnectionsNobodyExpects() throws Exception {
    SslContext ctx = SslContextBuilder.forServer(server.key(), server.cert()).sslProvider(SslProvider.OPENSSL).build();
    TrafficSecretLog log = new TrafficSecretLog();
    assertThat(log.install(ctx)).isTrue();
    ReferenceCountedOpenSslEngine s = (ReferenceCountedOpenSslEngine) ctx.newEngine(ByteBufAllocator.DEFAULT);
    try {
      SSLEngine c = ca.clientContext().createSSLEngine("localhost", 443);
      c.setUseClientMode(true);
      handshake(c, s);
      assertThat(log.pending()).isZero();
      assertThat(log.take(s.sslPointer())).isNull();
    } finally {
      ReferenceCountUtil.release(s);
      ReferenceCountUtil.release(ctx);
    }
  }

  @Test
  void refusesAJdkContext() throws Exception {
    SslContext jdk = SslContextBuilder.forServer(server.key(), server.cert()).sslProvider(SslProvider.JDK).build();
    assertThat(new TrafficSecretLog().install(jdk)).isFalse();
  }

  /** Decrypts one TLS 1.3 record with sequence number 0 under keys derived from {@code secret}. */
  private static String decryptRecord(OffloadCipher suite, byte[] secret, byte[] record) throws Exception {
    assertThat(record[0]).as("outer content type application_data").isEqualTo((byte) 23);
    int length = ((record[3] & 0xff) << 8) | (record[4] & 0xff);
    assertThat(record).as("exactly one record").hasSize(5 + length);
    TrafficKeys k = TrafficKeys.derive(suite, secret);
    byte[] nonce = k.iv(); // XOR sequence 0
    Cipher cipher;
    if (suite == OffloadCipher.CHACHA20_POLY1305) {
      cipher = Cipher.getInstance("ChaCha20-Poly1305");
      cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k.key(), "ChaCha20"), new IvParameterSpec(nonce));
    } else {
      cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k.key(), "AES"), new GCMParameterSpec(128, nonce));
    }
    cipher.updateAAD(record, 0, 5);
    byte[] inner = cipher.doFinal(record, 5, length);
    int end = inner.length - 1;
    while (inner[end] == 0) {
      end--; // padding
    }
    assertThat(inner[end]).as("inner content type application_data").isEqualTo((byte) 23);
    return new String(inner, 0, end, StandardCharsets.UTF_8);
  }

  private static byte[] wrap(SSLEngine e, String text) throws Exception {
    ByteBuffer out = ByteBuffer.allocate(e.getSession().getPacketBufferSize());
    SSLEngineResult r = e.wrap(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)), out);
    assertThat(r.getStatus()).isEqualTo(SSLEngineResult.Status.OK);
    out.flip();
    return Arrays.copyOfRange(out.array(), 0, out.limit());
  }

  /** Runs the handshake in memory until both engines are done. */
  private static void handshake(SSLEngine client, SSLEngine server) throws Exception {
    ByteBuffer empty = ByteBuffer.allocate(0);
    ByteBuffer c2s = ByteBuffer.allocate(1 << 16);
    ByteBuffer s2c = ByteBuffer.allocate(1 << 16);
    ByteBuffer sink = ByteBuffer.allocate(1 << 16);
    client.beginHandshake();
    server.beginHandshake();
    for (int i = 0; i < 200; i++) {
      step(client, empty, c2s, s2c, sink);
      step(server, empty, s2c, c2s, sink);
      if (done(client) && done(server) && c2s.position() == 0 && s2c.position() == 0) {
        return;
      }
    }
    throw new AssertionError("handshake did not finish: client " + client.getHandshakeStatus() + ", server "
        + server.getHandshakeStatus());
  }

  private static boolean done(SSLEngine e) {
    var s = e.getHandshakeStatus();
    return s == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING || s == SSLEngineResult.HandshakeStatus.FINISHED;
  }

  /** One engine: run tasks, consume what the peer sent, then write what it wants to send. */
  private static void step(SSLEngine e, ByteBuffer empty, ByteBuffer out, ByteBuffer in, ByteBuffer sink)
      throws Exception {
    Runnable task;
    while ((task = e.getDelegatedTask()) != null) {
      task.run();
    }
    in.flip();
    while (in.hasRemaining()) {
      SSLEngineResult r = e.unwrap(in, sink);
      while ((task = e.getDelegatedTask()) != null) {
        task.run();
      }
      if (r.getStatus() != SSLEngineResult.Status.OK || (r.bytesConsumed() == 0 && r.bytesProduced() == 0)) {
        break;
      }
    }
    if (e.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_UNWRAP && !in.hasRemaining()) {
      e.unwrap(in, sink); // BoringSSL's engine finishes the handshake on the next unwrap, with or without input
      while ((task = e.getDelegatedTask()) != null) {
        task.run();
      }
    }
    in.compact();
    sink.clear();
    while (e.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
      SSLEngineResult r = e.wrap(empty, out);
      if (r.bytesProduced() == 0) {
        break;
      }
    }
  }
}
