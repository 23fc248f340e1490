package io.keelson.dataplane.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.testing.Ngtcp2Client;
import io.keelson.dataplane.testing.TestCa;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.http3.DefaultHttp3Headers;
import io.netty.handler.codec.http3.DefaultHttp3HeadersFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.http3.Http3RequestStreamInboundHandler;
import io.netty.handler.codec.http3.Http3ServerConnectionHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.ssl.SslProvider;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A QUIC listener verifying clients against a served CA secret: after the CA rotates away, a client certificate from
 * the removed CA can no longer get in by resuming its TLS 1.3 session (ngtcp2's {@code gtlsclient --session-file}
 * over real UDP), as {@link ListenerSecretSessionResumptionTest} for TCP.
 */
class QuicSessionResumptionTest {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  @TempDir Path dir;

  @AfterEach
  void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  @Test
  void aSessionVerifiedByARemovedCaDoesNotResume() throws Exception {
    assumeTrue(Ngtcp2Client.installed(), "no " + Ngtcp2Client.BINARY);
    Mtls mtls = new Mtls(new TestCa("old-client-ca"));
    ListenerSecrets secrets = mtls.secrets;
    Path clientCert = mtls.clientCert;
    Path clientKey = mtls.clientKey;
    int port = serve(QuicServerTls.context(mtls.tls));

    Path session = dir.resolve("session");
    String[] options = {"--session-file=" + session, "--tp-file=" + dir.resolve("tp"), "--disable-early-data",
        "--cert=" + clientCert, "--key=" + clientKey};
    Ngtcp2Client.Response first = Ngtcp2Client.send("GET", port, "localhost", "/", null, dir, options);
    assertThat(first.status()).as("a full handshake with the trusted client CA: %s", first.output()).isEqualTo(200);
    assertThat(session).as("the client kept the session's ticket").exists();

    secrets.updateCa("kubernetes://gw-cacert", PemSource.inline(new TestCa("new-client-ca").certPem()));

    Ngtcp2Client.Response fresh = Ngtcp2Client.send("GET", port, "localhost", "/", null, dir, "--disable-early-data",
        "--cert=" + clientCert, "--key=" + clientKey);
    assertThat(fresh.status()).as("a full handshake with the removed CA's certificate is refused").isNotEqualTo(200);
    Ngtcp2Client.Response afterRotation = Ngtcp2Client.send("GET", port, "localhost", "/", null, dir, options);
    assertThat(afterRotation.status()).as("the removed CA's session is not resumed and its client is refused: %s",
        afterRotation.output()).isNotEqualTo(200);
  }

  @Test
  void ticketKeysRotateEachPeriodKeepingThePreviousOne() throws Exception {
    assumeTrue(Ngtcp2Client.installed(), "no " + Ngtcp2Client.BINARY);
    long period = QuicTicketKeys.PERIOD_MILLIS;
    long start = 1000 * period + 5;
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(start);
    var realClock = SessionResumption.clock;
    SessionResumption.clock = now::get;
    try {
      Mtls mtls = new Mtls(new TestCa("client-ca"));
      Path clientCert = mtls.clientCert;
      Path clientKey = mtls.clientKey;
      int port = serve(QuicServerTls.context(mtls.tls));

      Path ticket = dir.resolve("session");
      Ngtcp2Client.Response full = Ngtcp2Client.send("GET", port, "localhost", "/", null, dir,
          "--session-file=" + ticket, "--tp-file=" + dir.resolve("tp"), "--disable-early-data",
          "--cert=" + clientCert, "--key=" + clientKey);
      assertThat(full.status()).as("a full handshake with the client's certificate: %s", full.output()).isEqualTo(200);
      // without a certificate only a resumed session gets in (the listener requires one): resumption's witness
      assertThat(resumeWithoutCertificate(port, ticket, "same-epoch").status()).as("the ticket resumes at all")
          .isEqualTo(200);

      now.set(start + period);
      SessionResumption.rotateQuicTicketKeys();
      assertThat(resumeWithoutCertificate(port, ticket, "next-epoch").status())
          .as("one period on: the previous epoch's key still opens the ticket").isEqualTo(200);

      now.set(start + 2 * period);
      SessionResumption.rotateQuicTicketKeys();
      assertThat(resumeWithoutCertificate(port, ticket, "two-epochs").status())
          .as("two periods on: the ticket's key is gone, a full handshake without a certificate is refused")
          .isNotEqualTo(200);
    } finally {
      SessionResumption.clock = realClock;
    }
  }

  /** A server TLS context requiring a client certificate from {@code clientCa} (served over SDS), and one it issued. */
  private final class Mtls {
    final ListenerSecrets secrets = new ListenerSecrets();
    final Path clientCert;
    final Path clientKey;
    final ServerTls tls;

    Mtls(TestCa clientCa) throws Exception {
      TestCa.Leaf server = new TestCa("server-ca").issue("localhost", "localhost");
      clientCert = clientCa.issue("client", "client.example.com").write(dir, "client");
      clientKey = Ngtcp2Client.sec1Key(dir.resolve("client.key"));
      secrets.updateCertificate("kubernetes://gw", PemSource.inline(server.certPem()),
          PemSource.inline(server.keyPem()));
      secrets.updateCa("kubernetes://gw-cacert", PemSource.inline(clientCa.certPem()));
      tls = TlsContexts.listenerSdsServer(new DownstreamTlsConfig(null, null, null, true, List.of(),
          TlsParams.DEFAULT), secrets.slot("kubernetes://gw"), secrets.slot("kubernetes://gw-cacert"),
          SslProvider.OPENSSL);
    }
  }

  /** Resumes with a copy of {@code ticket} (the client rewrites its file with the new ticket it is given). */
  private Ngtcp2Client.Response resumeWithoutCertificate(int port, Path ticket, String name) throws Exception {
    Path copy = java.nio.file.Files.copy(ticket, dir.resolve("session-" + name));
    return Ngtcp2Client.send("GET", port, "localhost", "/", null, dir, "--session-file=" + copy,
        "--tp-file=" + dir.resolve("tp"), "--disable-early-data");
  }

  /** A QUIC server on {@code ssl} answering every HTTP/3 request 200. */
  private int serve(io.netty.handler.codec.quic.QuicSslContext ssl) throws Exception {
    var codec = Http3.newQuicServerCodecBuilder().sslContext(ssl)
        .maxIdleTimeout(10, TimeUnit.SECONDS).initialMaxData(1 << 20).initialMaxStreamDataBidirectionalRemote(1 << 16)
        .initialMaxStreamsBidirectional(10).tokenHandler(null)
        .handler(new ChannelInitializer<QuicChannel>() {
          @Override
          protected void initChannel(QuicChannel ch) {
            ch.pipeline().addLast(new Http3ServerConnectionHandler(new ChannelInitializer<QuicStreamChannel>() {
              @Override
              protected void initChannel(QuicStreamChannel stream) {
                stream.pipeline().addLast(new Http3RequestStreamInboundHandler() {
                  @Override
                  protected void channelRead(ChannelHandlerContext ctx, Http3HeadersFrame frame) {
                  }

                  @Override
                  protected void channelRead(ChannelHandlerContext ctx, Http3DataFrame frame) {
                    frame.release();
                  }

                  @Override
                  protected void channelInputClosed(ChannelHandlerContext ctx) {
                    ctx.writeAndFlush(new DefaultHttp3HeadersFrame(new DefaultHttp3Headers().status("200")))
                        .addListener(QuicStreamChannel.SHUTDOWN_OUTPUT);
                  }
                });
              }
            }));
          }
        }).build();
    Channel udp = new Bootstrap().group(group).channel(NioDatagramChannel.class).handler(codec)
        .bind("127.0.0.1", 0).sync().channel();
    return ((InetSocketAddress) udp.localAddress()).getPort();
  }
}
