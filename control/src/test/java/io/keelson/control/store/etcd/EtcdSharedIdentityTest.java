package io.keelson.control.store.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.auth.JoinTokens;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.Pem;
import io.keelson.dataplane.security.CertificateRequests;
import io.keelson.dataplane.security.CertificateRotator;
import io.keelson.dataplane.security.CertificateServiceClient;
import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.security.MeshTls;
import io.keelson.dataplane.security.MeshTrustManager;
import io.keelson.dataplane.security.PeerIdentity;
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
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two control-plane replicas on one real etcd share the mesh identity: join tokens created, listed and revoked at
 * either act on one set, and both issue certificates under the one root recorded in etcd; a replica with another
 * CA is refused at start. Proxies are real certificate-service clients over TLS on each replica's secure port.
 */
class EtcdSharedIdentityTest {
  private static final String PREFIX = "/ident/";

  @TempDir
  Path dir;
  private final Deque<AutoCloseable> cleanup = new ArrayDeque<>();
  private EtcdProcess etcd;
  private ControlPlane a;
  private ControlPlane b;
  private Path root;

  @BeforeEach
  void start() throws Exception {
    Assumptions.assumeTrue(EtcdProcess.binary() != null,
        "the etcd binary is not on PATH (apt-get install etcd-server etcd-client)");
    etcd = new EtcdProcess();
    cleanup.push(etcd);
    // Both replicas load the same self-signed root (one --data-dir/ca copied to each, as an operator would).
    a = replica(CaOptions.selfSigned(dir.resolve("ca")));
    b = replica(CaOptions.selfSigned(dir.resolve("ca")));
    root = Files.writeString(dir.resolve("root.pem"), Pem.encode(a.security.ca().roots()));
  }

  @AfterEach
  void stop() throws Exception {
    while (!cleanup.isEmpty()) {
      cleanup.pop().close();
    }
  }

  private ControlPlane replica(CaOptions ca) throws Exception {
    ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001, ca, 0)
        .withEtcd(new EtcdStore.Options(etcd.endpoints(), PREFIX, Duration.ofSeconds(2), Duration.ofSeconds(5),
            EtcdStore.Options.defaultReplicaId())));
    cleanup.push(cp);
    return cp;
  }

  private WorkloadCertificate certificateFrom(ControlPlane cp, String token) throws Exception {
    return sidecarIdentityFrom(cp, token).current();
  }

  /** What a sidecar of {@code cp} holds: its certificate and the trust bundle its replica handed it. */
  private CertificateSource sidecarIdentityFrom(ControlPlane cp, String token) throws Exception {
    try (CertificateServiceClient client = new CertificateServiceClient("127.0.0.1", cp.security.securePort().port(),
        new ControlPlaneCredentials(root, token));
        CertificateRotator rotator = new CertificateRotator(client).start()) {
      return new StaticCertificateSource(rotator.current(), rotator.trustBundle());
    }
  }

  /** A mesh mTLS handshake over loopback between {@code client} and {@code server}; the client's view of the peer. */
  private static String handshake(CertificateSource server, CertificateSource client, String expectServer)
      throws Exception {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    try {
      SslContext serverTls = MeshTls.server(server, true, SslProvider.JDK);
      SslContext clientTls = MeshTls.client(client, MeshTrustManager.anyOf(expectServer), SslProvider.JDK);
      Channel s = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(serverTls.newHandler(ch.alloc()));
            }
          }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
      CompletableFuture<String> out = new CompletableFuture<>();
      new Bootstrap().group(group).channel(NioSocketChannel.class).handler(new ChannelInitializer<SocketChannel>() {
        @Override
        protected void initChannel(SocketChannel ch) {
          SslHandler h = clientTls.newHandler(ch.alloc());
          ch.pipeline().addLast(h);
          h.handshakeFuture().addListener(f -> {
            if (f.isSuccess()) {
              out.complete(PeerIdentity.spiffeUri((X509Certificate) h.engine().getSession().getPeerCertificates()[0]));
            } else {
              out.completeExceptionally(f.cause());
            }
          });
        }
      }).connect(s.localAddress()).sync();
      try {
        return out.get(20, TimeUnit.SECONDS);
      } finally {
        s.close();
      }
    } finally {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  private static void refusedAt(ControlPlane cp, Path root, String token) throws Exception {
    try (CertificateServiceClient client = new CertificateServiceClient("127.0.0.1", cp.security.securePort().port(),
        new ControlPlaneCredentials(root, token))) {
      assertThatThrownBy(() -> client.sign(CertificateRequests.csrPem(CertificateRequests.newKeyPair()), null))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED));
    }
  }

  @Test
  void aTokenCreatedAtOneReplicaLetsASidecarGetItsCertificateAtTheOtherUnderTheSameRoot() throws Exception {
    String token = a.security.tokens().create("shop", "web", null).token();

    CertificateSource sidecarOfB = sidecarIdentityFrom(b, token);
    CertificateSource sidecarOfA = sidecarIdentityFrom(a, a.security.tokens().create("shop", "api", null).token());
    WorkloadCertificate atB = sidecarOfB.current();
    WorkloadCertificate atA = sidecarOfA.current();

    assertThat(atB.spiffeUri()).isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
    assertThat(b.security.ca().roots()).containsExactlyElementsOf(a.security.ca().roots());
    // Each side's leaf chains to the one root both replicas serve in their trust bundles.
    atB.leaf().verify(a.security.ca().roots().getFirst().getPublicKey());
    atA.leaf().verify(b.security.ca().roots().getFirst().getPublicKey());
    assertThat(b.security.certificates().issued()).isEqualTo(1);
    // A sidecar of A calls one of B over mesh mTLS, each trusting only the bundle its own replica gave it.
    assertThat(handshake(sidecarOfB, sidecarOfA, "spiffe://cluster.local/ns/shop/sa/web"))
        .isEqualTo("spiffe://cluster.local/ns/shop/sa/web");
    assertThat(handshake(sidecarOfA, sidecarOfB, "spiffe://cluster.local/ns/shop/sa/api"))
        .isEqualTo("spiffe://cluster.local/ns/shop/sa/api");
  }

  @Test
  void aTokenRevokedAtOneReplicaIsRefusedAtTheOtherWithinTheCacheTtl() throws Exception {
    JoinTokens.Created c = a.security.tokens().create("shop", "web", null);
    certificateFrom(b, c.token()); // B has now read (and cached) the token

    assertThat(a.security.tokens().revoke(c.info().id())).isTrue();
    long revokedAt = System.nanoTime();
    refusedAt(a, root, c.token()); // at once where it was revoked
    await().atMost(EtcdJoinTokens.CACHE_TTL.plusSeconds(1)).pollInterval(Duration.ofMillis(100))
        .until(() -> b.security.tokens().verify(c.token()).isEmpty());
    assertThat(Duration.ofNanos(System.nanoTime() - revokedAt)).isLessThan(EtcdJoinTokens.CACHE_TTL.plusSeconds(1));
    refusedAt(b, root, c.token());
    assertThat(b.security.tokens().revoke(c.info().id())).as("already gone from the shared set").isFalse();
  }

  @Test
  void tokensListedAtEitherReplicaAreTheSharedSetStoredWithoutTheirSecret() throws Exception {
    JoinTokens.Created c = a.security.tokens().create("shop", "web", null);
    b.security.tokens().create("shop", "db", null);

    assertThat(b.security.tokens().list()).extracting(JoinTokens.Token::serviceAccount)
        .containsExactlyInAnyOrder("web", "db");
    assertThat(a.security.tokens().list()).hasSize(2);
    String secret = c.token().substring(c.token().lastIndexOf('.') + 1);
    EtcdClient.KeyValue stored = client().get(PREFIX + "tokens/" + c.info().id());
    assertThat(stored.value()).contains(c.info().sha256()).doesNotContain(secret);
  }

  @Test
  void anExpiredTokenIsRefusedAtEveryReplica() throws Exception {
    String token = a.security.tokens().create("shop", "web", Duration.ofSeconds(1)).token();
    assertThat(b.security.tokens().verify(token)).isPresent();
    await().atMost(Duration.ofSeconds(4)).until(() -> b.security.tokens().verify(token).isEmpty()
        && a.security.tokens().verify(token).isEmpty());
  }

  @Test
  void aBadRecordUnderTheTokensPrefixIsRefusedByKeyAndTheOtherTokensKeepWorking() throws Exception {
    String good = a.security.tokens().create("shop", "web", null).token();
    client().put(PREFIX + "tokens/0badbadbad00", "{\"id\":\"0badbadbad00\",\"namespace\":\"shop\"}", 0);
    client().put(PREFIX + "tokens/0000notjson0", "not json", 0);

    assertThat(b.security.tokens().verify("kjt.0badbadbad00.anything")).isEmpty();
    assertThat(b.etcd.joinTokens().lastError()).contains(PREFIX + "tokens/0badbadbad00").contains("serviceAccount");
    assertThat(b.security.tokens().verify("kjt.0000notjson0.anything")).isEmpty();
    assertThat(b.etcd.joinTokens().lastError()).contains(PREFIX + "tokens/0000notjson0", "not a join token record");
    assertThat(b.security.tokens().list()).extracting(JoinTokens.Token::serviceAccount).containsExactly("web");
    assertThat(b.security.tokens().verify(good)).isPresent();
    certificateFrom(b, good);
  }

  @Test
  void aReplicaWithAnotherCaIsRefusedAtStartNamingTheKeyAndWhatToDo() {
    assertThatThrownBy(() -> replica(CaOptions.selfSigned(dir.resolve("other-ca"))))
        .isInstanceOf(IOException.class)
        .hasMessageContaining(PREFIX + "ca/roots.pem")
        .hasMessageContaining(EtcdCaRecord.fingerprints(a.security.ca().roots()))
        .hasMessageContaining("--ca-cert/--ca-key");
  }

  private EtcdClient client() {
    return new EtcdClient(etcd.endpoints(), Duration.ofSeconds(2));
  }
}
