package io.keelson.control.ca;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.security.CertificateRequests;
import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.security.MeshTls;
import io.keelson.dataplane.security.MeshTrustManager;
import io.keelson.dataplane.security.PeerIdentity;
import io.keelson.dataplane.security.SpiffeId;
import io.keelson.dataplane.security.StaticCertificateSource;
import io.keelson.dataplane.security.WorkloadCertificate;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.net.InetSocketAddress;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Mesh mTLS over real Netty sockets with the contexts the TLS transport will use: who is accepted and
 * who is refused (another CA, an expired certificate, the wrong SPIFFE ID, no client certificate).
 */
class MeshTlsHandshakeTest {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

  @AfterEach
  void stop() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  private static WorkloadCertificate svid(MeshCa ca, SpiffeId id) throws CaException {
    KeyPair kp = CertificateRequests.newKeyPair();
    List<X509Certificate> chain = ca.sign(CertificateRequests.csr(kp), id, null);
    return new WorkloadCertificate(kp.getPrivate(), chain.subList(0, chain.size() - 1));
  }

  /** Starts a server; returns the client's view of the handshake: the server's URI, or the failure. */
  private CompletableFuture<String> handshake(SslContext server, SslContext client, CompletableFuture<String> serverSaw)
      throws Exception {
    Channel s = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            SslHandler h = server.newHandler(ch.alloc());
            ch.pipeline().addLast(h);
            h.handshakeFuture().addListener(f -> serverSaw.complete(f.isSuccess()
                ? PeerIdentity.spiffeUri((X509Certificate) h.engine().getSession().getPeerCertificates()[0])
                : "refused: " + f.cause()));
          }
        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    CompletableFuture<String> out = new CompletableFuture<>();
    new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        SslHandler h = client.newHandler(ch.alloc());
        ch.pipeline().addLast(h);
        h.handshakeFuture().addListener(f -> {
          if (f.isSuccess()) {
            out.complete(PeerIdentity.spiffeUri((X509Certificate) h.engine().getSession().getPeerCertificates()[0]));
          } else {
            out.completeExceptionally(f.cause());
          }
        });
        ch.closeFuture().addListener(f -> out.completeExceptionally(new IllegalStateException("closed")));
      }
    }).connect(s.localAddress()).sync();
    out.whenComplete((r, e) -> s.close());
    return out;
  }

  private static String outcome(CompletableFuture<String> f) {
    try {
      return f.get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      return "refused";
    }
  }

  @ParameterizedTest
  @EnumSource(SslProvider.class)
  void mutualTlsAcceptsMeshPeersAndRefusesStrangers(SslProvider provider) throws Exception {
    Assumptions.assumeTrue(provider == SslProvider.JDK || OpenSsl.isAvailable(), "OpenSSL not available");
    Assumptions.assumeTrue(provider != SslProvider.OPENSSL_REFCNT);
    MeshCa ca = CaLoader.load(CaOptions.selfSigned(null));
    SpiffeId web = ca.identity("shop", "web");
    SpiffeId product = ca.identity("shop", "product");
    List<X509Certificate> bundle = ca.roots();
    CertificateSource productSrc = new StaticCertificateSource(svid(ca, product), bundle);
    SslContext server = MeshTls.server(productSrc, true, provider);

    // a mesh client expecting product
    CompletableFuture<String> saw = new CompletableFuture<>();
    CertificateSource webSrc = new StaticCertificateSource(svid(ca, web), bundle);
    assertThat(outcome(handshake(server, MeshTls.client(webSrc, MeshTrustManager.anyOf(product.uri()), provider), saw)))
        .isEqualTo(product.uri());
    assertThat(saw.get(10, TimeUnit.SECONDS)).as("the server sees the client's SPIFFE ID").isEqualTo(web.uri());

    // the client expects another identity: refused by the client
    assertThat(outcome(handshake(server, MeshTls.client(webSrc, MeshTrustManager.anyOf(
        ca.identity("shop", "cart").uri()), provider), new CompletableFuture<>()))).isEqualTo("refused");

    // a client certificate from another CA: refused by the server
    MeshCa other = CaLoader.load(CaOptions.selfSigned(null));
    CertificateSource stranger = new StaticCertificateSource(svid(other, web), bundle);
    CompletableFuture<String> strangerSaw = new CompletableFuture<>();
    outcome(handshake(server, MeshTls.client(stranger, null, provider), strangerSaw));
    assertThat(strangerSaw.get(10, TimeUnit.SECONDS)).startsWith("refused");

    // an expired client certificate from the right CA: refused by the server
    MeshCa past = ca.withClock(Clock.fixed(Instant.now().minus(Duration.ofDays(2)), ZoneOffset.UTC));
    CertificateSource expired = new StaticCertificateSource(svid(past, web), bundle);
    CompletableFuture<String> expiredSaw = new CompletableFuture<>();
    outcome(handshake(server, MeshTls.client(expired, null, provider), expiredSaw));
    assertThat(expiredSaw.get(10, TimeUnit.SECONDS)).startsWith("refused");
    if (provider == SslProvider.JDK) { // OpenSSL reports a generic engine problem
      assertThat(expiredSaw.get()).contains("not valid now");
    }

    // no client certificate at all on a STRICT (required) server
    CertificateSource anonymous = new StaticCertificateSource(null, bundle);
    CompletableFuture<String> anonSaw = new CompletableFuture<>();
    outcome(handshake(server, MeshTls.client(anonymous, null, provider), anonSaw));
    assertThat(anonSaw.get(10, TimeUnit.SECONDS)).startsWith("refused");
  }
}
