package io.keelson.dataplane.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.testing.TestCa;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A listener verifying clients against a served CA secret: after the CA rotates away, a client certificate from the
 * removed CA can no longer get in by resuming a session (openssl s_client -sess_out/-sess_in over real sockets).
 */
class ListenerSecretSessionResumptionTest {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  @TempDir Path dir;

  @AfterEach
  void close() {
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
  }

  @ParameterizedTest
  @ValueSource(strings = {"-tls1_3", "-tls1_2"})
  void aSessionVerifiedByARemovedCaDoesNotResume(String version) throws Exception {
    assumeTrue(OpenSsl.isAvailable(), "netty-tcnative (BoringSSL) is unavailable: " + OpenSsl.unavailabilityCause());
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")), "no /usr/bin/openssl to act as the client");
    TestCa serverCa = new TestCa("server-ca");
    TestCa oldClientCa = new TestCa("old-client-ca");
    TestCa newClientCa = new TestCa("new-client-ca");
    TestCa.Leaf server = serverCa.issue("gw.example.com", "gw.example.com");
    TestCa.Leaf client = oldClientCa.issue("client", "client.example.com");
    client.write(dir, "client");

    ListenerSecrets secrets = new ListenerSecrets();
    secrets.updateCertificate("kubernetes://gw", PemSource.inline(server.certPem()), PemSource.inline(server.keyPem()));
    secrets.updateCa("kubernetes://gw-cacert", PemSource.inline(oldClientCa.certPem()));
    ServerTls tls = TlsContexts.listenerSdsServer(new DownstreamTlsConfig(null, null, null, true, List.of(),
        TlsParams.DEFAULT), secrets.slot("kubernetes://gw"), secrets.slot("kubernetes://gw-cacert"), SslProvider.OPENSSL);
    int port = serve(tls);

    String first = sClient(port, version, "-sess_out");
    assertThat(first).as("a full handshake with the trusted client CA").contains("pong").contains("New,");
    String resumed = sClient(port, version, "-sess_in");
    assertThat(resumed).as("the test resumes at all").contains("pong").contains("Reused,");

    secrets.updateCa("kubernetes://gw-cacert", PemSource.inline(newClientCa.certPem()));

    String afterRotation = sClient(port, version, "-sess_in");
    assertThat(afterRotation).as("the removed CA's session is not resumed and its client is refused")
        .doesNotContain("Reused,").doesNotContain("pong");
  }

  @org.junit.jupiter.api.Test
  void sanMatchersWithoutACaSecretAreAnError() throws Exception {
    assumeTrue(OpenSsl.isAvailable(), "netty-tcnative (BoringSSL) is unavailable: " + OpenSsl.unavailabilityCause());
    TestCa ca = new TestCa("server-ca");
    TestCa.Leaf server = ca.issue("gw.example.com", "gw.example.com");
    ListenerSecrets secrets = new ListenerSecrets();
    secrets.updateCertificate("kubernetes://gw", PemSource.inline(server.certPem()), PemSource.inline(server.keyPem()));
    var config = new DownstreamTlsConfig(null, null, null, false,
        List.of(new SanMatcher(SanMatcher.Type.DNS, SanMatcher.Kind.EXACT, "client.example.com", false)),
        TlsParams.DEFAULT);

    org.assertj.core.api.Assertions.assertThatThrownBy(() -> TlsContexts.listenerSdsServer(config,
            secrets.slot("kubernetes://gw"), null, SslProvider.OPENSSL))
        .isInstanceOf(TlsConfigException.class).hasMessageContaining("validation_context_sds_secret_config");
  }

  @org.junit.jupiter.api.Test
  void aCaRotationForgetsTheSessionsOfAnInMeshClustersHttpConnectionsToo() throws Exception {
    assumeTrue(OpenSsl.isAvailable(), "netty-tcnative (BoringSSL) is unavailable: " + OpenSsl.unavailabilityCause());
    TestCa ca = new TestCa("server-ca");
    TestCa.Leaf server = ca.issue("svc.example.com", "svc.example.com");
    ListenerSecrets secrets = new ListenerSecrets();
    secrets.updateCa("kubernetes://svc-cacert", PemSource.inline(ca.certPem()));
    var params = new TlsParams("TLSv1.2", "TLSv1.2", List.of(), List.of(), List.of(ClientTls.ISTIO_ALPN, "http/1.1"));
    ClientTls tls = TlsContexts.servedSdsClient(new UpstreamTlsConfig(null, null, null, null, List.of(), params), null,
        secrets.slot("kubernetes://svc-cacert"), SslProvider.OPENSSL);
    assertThat(tls.http()).as("an in-mesh cluster: a second context for its HTTP connections").isNotNull();
    int port = serve(new ServerTls(new DownstreamTlsConfig(null, null, null, false, List.of(), TlsParams.DEFAULT),
        io.netty.handler.ssl.SslContextBuilder.forServer(server.key(), server.cert()).protocols("TLSv1.2").build(),
        SslProvider.JDK, List.of()));
    handshake(tls.http(), port);
    assertThat(resumable(tls.http())).as("the HTTP connection's session is cached").isPositive();

    secrets.updateCa("kubernetes://svc-cacert", PemSource.inline(new TestCa("other-ca").certPem()));

    assertThat(resumable(tls.http())).as("verified against the removed CA: not resumed").isZero();
  }

  private void handshake(ClientTls tls, int port) throws Exception {
    Channel ch = new io.netty.bootstrap.Bootstrap().group(group).channel(io.netty.channel.socket.nio.NioSocketChannel.class)
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel c) {
            c.pipeline().addLast(tls.newHandler(c.alloc(), "127.0.0.1", port));
          }
        }).connect("127.0.0.1", port).sync().channel();
    ch.pipeline().get(io.netty.handler.ssl.SslHandler.class).handshakeFuture().sync();
    ch.close().sync();
  }

  private static long resumable(ClientTls tls) {
    var sessions = tls.context().sessionContext();
    return java.util.Collections.list(sessions.getIds()).stream().map(sessions::getSession)
        .filter(s -> s != null && s.isValid()).count();
  }

  private int serve(ServerTls tls) throws InterruptedException {
    Channel ch = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel c) {
            c.pipeline().addLast(tls.newHandler(c.alloc()), new ChannelInboundHandlerAdapter() {
              @Override
              public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ((ByteBuf) msg).release();
                ctx.writeAndFlush(ctx.alloc().buffer().writeBytes("pong\n".getBytes(StandardCharsets.US_ASCII)));
              }

              @Override
              public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
              }
            });
          }
        }).bind("127.0.0.1", 0).sync().channel();
    return ((java.net.InetSocketAddress) ch.localAddress()).getPort();
  }

  /** One s_client connection presenting the client certificate, saving or resuming the session file; its output. */
  private String sClient(int port, String version, String sessionFlag) throws Exception {
    Process p = new ProcessBuilder("/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + port, version,
        "-cert", dir.resolve("client.crt").toString(), "-key", dir.resolve("client.key").toString(),
        sessionFlag, dir.resolve("session.pem").toString())
        .redirectErrorStream(true).start();
    p.getOutputStream().write("ping\n".getBytes(StandardCharsets.US_ASCII));
    p.getOutputStream().flush();
    // Keep stdin open long enough for the reply (and a TLS 1.3 ticket) to arrive, then end the session.
    Thread.sleep(1_000);
    p.getOutputStream().close();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).as("s_client exits").isTrue();
    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
  }
}
