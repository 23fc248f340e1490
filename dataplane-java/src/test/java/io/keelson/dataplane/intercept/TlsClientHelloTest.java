package io.keelson.dataplane.intercept;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProtocolChains;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;

/**
 * The tls_inspector's reading of a real ClientHello (the JDK's TLS client writes it) and Envoy's chain selection by
 * transport protocol and application protocols, in Istio's inbound shape of an auto port under PERMISSIVE mTLS.
 */
class TlsClientHelloTest {
  private static ByteBuf clientHello(String... alpn) throws Exception {
    SSLContext tls = SSLContext.getInstance("TLS");
    tls.init(null, null, null);
    SSLEngine engine = tls.createSSLEngine("reviews", 9080);
    engine.setUseClientMode(true);
    SSLParameters p = engine.getSSLParameters();
    p.setApplicationProtocols(alpn);
    engine.setSSLParameters(p);
    ByteBuffer out = ByteBuffer.allocate(engine.getSession().getPacketBufferSize());
    engine.wrap(ByteBuffer.allocate(0), out);
    out.flip();
    return Unpooled.wrappedBuffer(out);
  }

  @Test
  void readsTheAlpnNamesARealClientHelloOffersAndWaitsForItsWholeRecord() throws Exception {
    ByteBuf hello = clientHello("istio-http/1.1", "istio", "http/1.1");
    assertThat(TlsClientHello.startsHandshake(hello)).isTrue();
    assertThat(TlsClientHello.alpn(hello)).containsExactly("istio-http/1.1", "istio", "http/1.1");
    assertThat(hello.readerIndex()).as("read in place").isZero();
    assertThat(TlsClientHello.alpn(hello.slice(0, hello.readableBytes() - 1))).as("a record not all there yet").isNull();
    assertThat(TlsClientHello.alpn(hello.slice(0, 3))).isNull();
    assertThat(TlsClientHello.alpn(clientHello())).as("no ALPN extension").isEmpty();
    assertThat(TlsClientHello.startsHandshake(Unpooled.copiedBuffer("GET / HTTP/1.1\r\n".getBytes()))).isFalse();
    // A record of the right length whose body is no ClientHello offers nothing (and throws nothing).
    ByteBuf junk = Unpooled.buffer().writeBytes(new byte[] {0x16, 3, 1, 0, 6, 1, 0, 0, 9, 9, 9});
    assertThat(TlsClientHello.alpn(junk)).isEmpty();
  }

  @Test
  void selectsByTransportProtocolFirstThenByAlpnAsEnvoy() {
    ListenerConfig mtlsHttp = chain("mtls-http");
    ListenerConfig mtlsTcp = chain("mtls-tcp");
    ListenerConfig plainHttp = chain("plain-http");
    ListenerConfig plainTcp = chain("plain-tcp");
    ProtocolChains permissive = new ProtocolChains(List.of(
        new ProtocolChains.Entry("tls", List.of("istio-http/1.0", "istio-http/1.1", "istio-h2"), mtlsHttp),
        new ProtocolChains.Entry("tls", List.of(), mtlsTcp),
        new ProtocolChains.Entry("raw_buffer", ProtocolChains.HTTP_PROTOCOLS, plainHttp),
        new ProtocolChains.Entry("raw_buffer", List.of(), plainTcp)), Duration.ZERO, true);
    assertThat(permissive.inspectsTls()).isTrue();
    assertThat(permissive.select("tls", List.of("istio-http/1.1", "istio", "http/1.1"))).isSameAs(mtlsHttp);
    assertThat(permissive.select("tls", List.of("istio-h2", "istio", "h2"))).isSameAs(mtlsHttp);
    assertThat(permissive.select("tls", List.of("istio"))).as("a client sidecar's tcp_proxy").isSameAs(mtlsTcp);
    assertThat(permissive.select("tls", List.of("http/1.1"))).as("TLS from outside the mesh").isSameAs(mtlsTcp);
    assertThat(permissive.select("h2c")).isSameAs(plainHttp);
    assertThat(permissive.select(null)).isSameAs(plainTcp);

    ProtocolChains strict = new ProtocolChains(List.of(
        new ProtocolChains.Entry("tls", List.of("istio-http/1.1"), mtlsHttp),
        new ProtocolChains.Entry("tls", List.of(), mtlsTcp)), Duration.ZERO, true);
    assertThat(strict.select("http/1.1")).as("STRICT: plaintext has no chain").isNull();
    assertThat(strict.select(null)).isNull();

    ProtocolChains plaintextOnly = new ProtocolChains(List.of(
        new ProtocolChains.Entry(ProtocolChains.HTTP_PROTOCOLS, plainHttp),
        new ProtocolChains.Entry(List.of(), plainTcp)), Duration.ZERO, true);
    assertThat(plaintextOnly.inspectsTls()).as("no TLS chain: ClientHellos are just bytes").isFalse();
    assertThat(plaintextOnly.select("tls", List.of("istio-http/1.1"))).as("the chain for any transport").isSameAs(plainTcp);
  }

  @Test
  void theClientsAlpnOrderDecidesBetweenChainsNotTheChainsOrder() {
    ListenerConfig http1 = chain("http1");
    ListenerConfig h2 = chain("h2");
    ProtocolChains chains = new ProtocolChains(List.of(
        new ProtocolChains.Entry("tls", List.of("http/1.1"), http1),
        new ProtocolChains.Entry("tls", List.of("h2"), h2)), Duration.ZERO, true);
    assertThat(chains.select("tls", List.of("h2", "http/1.1"))).as("the client prefers h2").isSameAs(h2);
    assertThat(chains.select("tls", List.of("http/1.1", "h2"))).isSameAs(http1);
    assertThat(chains.select("tls", List.of("spdy/3", "h2"))).as("an unnamed offer is skipped").isSameAs(h2);
  }

  private static ListenerConfig chain(String name) {
    return ListenerConfig.withProtocolChains(name, "127.0.0.1", 0, new ProtocolChains(List.of(), Duration.ZERO, true));
  }
}
