package io.keelson.dataplane.xds;

import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The gate between accepted xDS resources and the data plane: warming, completeness, rejection. */
class XdsResourceCacheTest {
  private final XdsResourceCache cache = new XdsResourceCache(Bootstrap.StaticResources.getDefaultInstance());

  private static List<XdsResourceCache.Incoming> sotw(Message... resources) {
    return java.util.Arrays.stream(resources).map(m -> new XdsResourceCache.Incoming("", "", Any.pack(m))).toList();
  }

  private XdsResourceCache.Outcome apply(ResourceType type, String version, Message... resources) {
    return cache.apply(type, sotw(resources), Set.of(), type.wildcard(), version);
  }

  @Test
  void publishesOnlyOnceClustersEndpointsListenersAndRoutesAreAllPresent() {
    XdsResourceCache.Outcome clusters = apply(ResourceType.CLUSTER, "1", edsCluster("v1"));
    assertThat(clusters.accepted()).isTrue();
    assertThat(clusters.snapshot()).isNull();
    assertThat(cache.clustersWarm()).isFalse();
    assertThat(cache.edsSubscription()).containsExactly("v1");

    XdsResourceCache.Outcome eds = apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    assertThat(eds.snapshot()).as("no listener yet").isNull();
    assertThat(cache.clustersWarm()).isTrue();

    XdsResourceCache.Outcome lds = apply(ResourceType.LISTENER, "1", listener(0));
    assertThat(lds.snapshot()).as("its route configuration has not arrived").isNull();
    assertThat(cache.rdsSubscription()).containsExactly("local_route");

    XdsResourceCache.Outcome rds = apply(ResourceType.ROUTE, "1", route("v1", "1"));
    assertThat(rds.accepted()).isTrue();
    assertThat(rds.snapshot()).isNotNull();
    assertThat(rds.snapshot().cluster("v1").endpoints()).hasSize(1);
    assertThat(rds.snapshot().version()).isEqualTo("xds-1 CDS=1 EDS=1 LDS=1 RDS=1");
  }

  @Test
  void rejectsRemovingAClusterARouteStillUsesAndKeepsTheAcceptedOne() {
    apply(ResourceType.CLUSTER, "1", edsCluster("v1"), edsCluster("v2"));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1), endpoints("v2", 8082, 1));
    apply(ResourceType.LISTENER, "1", listener(0));
    assertThat(apply(ResourceType.ROUTE, "1", route("v1", "1", "v2", "1")).snapshot()).isNotNull();

    XdsResourceCache.Outcome removal = apply(ResourceType.CLUSTER, "2", edsCluster("v1"));

    assertThat(removal.accepted()).isFalse();
    assertThat(removal.error()).isEqualTo("xds: RouteConfiguration[local_route].virtual_hosts[0].routes[0].route"
        + ".weighted_clusters.clusters[1].name: route 'split' names cluster 'v2', which is not defined; expected one of [v1]");
    assertThat(cache.version(ResourceType.CLUSTER)).isEqualTo("1");
    assertThat(cache.edsSubscription()).containsExactly("v1", "v2");
  }

  @Test
  void aResendOfUnchangedResourcesIsAcknowledgedWithoutANewSnapshot() {
    apply(ResourceType.CLUSTER, "1", edsCluster("v1"));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    apply(ResourceType.LISTENER, "1", listener(0));
    assertThat(apply(ResourceType.ROUTE, "1", route("v1", "1")).snapshot()).isNotNull();

    XdsResourceCache.Outcome resend = apply(ResourceType.CLUSTER, "2", edsCluster("v1"));

    assertThat(resend.accepted()).isTrue();
    assertThat(resend.snapshot()).isNull();
    assertThat(cache.version(ResourceType.CLUSTER)).isEqualTo("2");
  }

  @Test
  void rejectsAResourceOfTheWrongTypeAndOneNamedTwice() {
    XdsResourceCache.Outcome wrongType = cache.apply(ResourceType.CLUSTER,
        List.of(new XdsResourceCache.Incoming("x", "1", Any.pack(listener(0)))), Set.of(), true, "1");
    assertThat(wrongType.error()).isEqualTo("xds: CDS resource 'x' has type "
        + "type.googleapis.com/envoy.config.listener.v3.Listener; expected type.googleapis.com/envoy.config.cluster.v3.Cluster");

    XdsResourceCache.Outcome twice = apply(ResourceType.CLUSTER, "1", edsCluster("v1"), edsCluster("v1"));
    assertThat(twice.error()).isEqualTo("xds: CDS resource 'v1' appears twice in one response; expected unique names");
    assertThat(cache.version(ResourceType.CLUSTER)).isEmpty();
  }

  @Test
  void deltaRemovalsDropResources() {
    cache.apply(ResourceType.CLUSTER, List.of(
        new XdsResourceCache.Incoming("v1", "a", Any.pack(edsCluster("v1"))),
        new XdsResourceCache.Incoming("v2", "b", Any.pack(edsCluster("v2")))), Set.of(), false, "s1");
    assertThat(cache.resourceVersions(ResourceType.CLUSTER)).containsEntry("v1", "a").containsEntry("v2", "b");

    cache.apply(ResourceType.CLUSTER, List.of(), Set.of("v1"), false, "s2");

    assertThat(cache.resourceVersions(ResourceType.CLUSTER)).containsOnlyKeys("v2");
    assertThat(cache.edsSubscription()).containsExactly("v2");
  }

  /** The test listener terminating TLS with the served secret {@code kubernetes://cert}. */
  private static io.envoyproxy.envoy.config.listener.v3.Listener tlsListener(int port) {
    return MeshResources.tlsListener(MeshResources.LISTENER, port, "kubernetes://cert");
  }

  /** A listener on {@code secretName} that requires client certificates with no CA: it cannot translate. */
  private static io.envoyproxy.envoy.config.listener.v3.Listener untranslatableTlsListener(String name, String secretName) {
    var l = listener(0).toBuilder().setName(name);
    var tls = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.newBuilder()
        .setRequireClientCertificate(com.google.protobuf.BoolValue.of(true))
        .setCommonTlsContext(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.newBuilder()
            .addTlsCertificateSdsSecretConfigs(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig
                .newBuilder().setName(secretName).setSdsConfig(MeshResources.ADS)))
        .build();
    l.getFilterChainsBuilder(0).setTransportSocket(io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tls)));
    return l.build();
  }

  private static io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret secret(String chain, String key) {
    return secret("kubernetes://cert", chain, key);
  }

  private static io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret secret(String name, String chain,
      String key) {
    return MeshResources.certSecret(name, chain, key);
  }

  @Test
  void aListenerNamingAServedSecretWarmsUntilItArrivesAndARotationSwapsItWithoutASnapshot() throws Exception {
    var ca = new io.keelson.dataplane.testing.TestCa("cache-ca");
    var a = ca.issue("a.example.com", "a.example.com");
    var b = ca.issue("b.example.com", "b.example.com");
    apply(ResourceType.CLUSTER, "1", edsCluster("v1"));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    assertThat(listenerNames(apply(ResourceType.LISTENER, "1", tlsListener(0)))).as("warming: not in service").isEmpty();
    assertThat(cache.warmingCount(ResourceType.LISTENER)).isEqualTo(1);
    assertThat(cache.sdsSubscription()).containsExactly("kubernetes://cert");
    assertThat(listenerNames(apply(ResourceType.ROUTE, "1", route("v1", "1")))).as("its secret has not arrived").isEmpty();

    XdsResourceCache.Outcome bad = apply(ResourceType.SECRET, "0", secret(a.certPem(), b.keyPem()));
    assertThat(bad.accepted()).isFalse();
    assertThat(bad.error()).contains("kubernetes://cert").contains("tls_certificate.private_key");

    XdsResourceCache.Outcome first = apply(ResourceType.SECRET, "1", secret(a.certPem(), a.keyPem()));
    assertThat(listenerNames(first)).as("the listener warmed on its secret").containsExactly("ingress");
    assertThat(cache.warmingCount(ResourceType.LISTENER)).isZero();
    assertThat(first.snapshot().version()).endsWith("SDS=1");
    var slot = cache.listenerSecrets().slot("kubernetes://cert");
    assertThat(slot.current().leaf()).isEqualTo(a.cert());
    XdsResourceCache.Outcome rotated = apply(ResourceType.SECRET, "2", secret(b.certPem(), b.keyPem()));
    assertThat(rotated.accepted()).isTrue();
    assertThat(rotated.snapshot()).as("a rotation is no new snapshot").isNull();
    assertThat(cache.version(ResourceType.SECRET)).isEqualTo("2");
    assertThat(cache.version(ResourceType.LISTENER)).isEqualTo("1");
    assertThat(slot.current().leaf()).as("the listener's slot holds the new certificate").isEqualTo(b.cert());
  }

  @Test
  void aSecretUpdateWhoseListenersFailToTranslateIsNackedAndServesNothingNew() throws Exception {
    var ca = new io.keelson.dataplane.testing.TestCa("cache-ca");
    var a = ca.issue("a.example.com", "a.example.com");
    var b = ca.issue("b.example.com", "b.example.com");
    apply(ResourceType.CLUSTER, "1", edsCluster("v1"));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    apply(ResourceType.LISTENER, "1", tlsListener(0));
    apply(ResourceType.ROUTE, "1", route("v1", "1"));
    assertThat(apply(ResourceType.SECRET, "1", secret(a.certPem(), a.keyPem())).snapshot()).isNotNull();
    var slot = cache.listenerSecrets().slot("kubernetes://cert");
    // A second listener on a secret that has not arrived warms; the first listener keeps serving.
    assertThat(listenerNames(apply(ResourceType.LISTENER, "2", tlsListener(0),
        untranslatableTlsListener("other", "kubernetes://other")))).containsExactly("ingress");

    XdsResourceCache.Outcome nacked = apply(ResourceType.SECRET, "2", secret(b.certPem(), b.keyPem()),
        secret("kubernetes://other", b.certPem(), b.keyPem()));

    assertThat(nacked.accepted()).as("the second listener cannot translate").isFalse();
    assertThat(nacked.error()).contains("require_client_certificate");
    assertThat(slot.current().leaf()).as("the running listener still serves the accepted certificate")
        .isEqualTo(a.cert());
    assertThat(cache.listenerSecrets().slot("kubernetes://other").delivered()).as("nothing of the refused update kept")
        .isFalse();
  }

  /** The names of the listeners an outcome's snapshot runs (none without a snapshot). */
  private static List<String> listenerNames(XdsResourceCache.Outcome o) {
    return o.snapshot() == null ? List.of()
        : o.snapshot().listeners().stream().map(io.keelson.dataplane.config.ListenerConfig::name).toList();
  }

  @Test
  void anAcceptedRotationWhileWarmingReachesTheRunningListeners() throws Exception {
    var ca = new io.keelson.dataplane.testing.TestCa("cache-ca");
    var a = ca.issue("a.example.com", "a.example.com");
    var b = ca.issue("b.example.com", "b.example.com");
    apply(ResourceType.CLUSTER, "1", edsCluster("v1"));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    apply(ResourceType.LISTENER, "1", tlsListener(0));
    apply(ResourceType.ROUTE, "1", route("v1", "1"));
    assertThat(apply(ResourceType.SECRET, "1", secret(a.certPem(), a.keyPem())).snapshot()).isNotNull();
    var slot = cache.listenerSecrets().slot("kubernetes://cert");
    apply(ResourceType.LISTENER, "2", tlsListener(0), untranslatableTlsListener("other", "kubernetes://other"));

    XdsResourceCache.Outcome rotated = apply(ResourceType.SECRET, "2", secret(b.certPem(), b.keyPem()));

    assertThat(rotated.accepted()).as("still warming on kubernetes://other: ACKed").isTrue();
    assertThat(slot.current().leaf()).as("the running listener's rotation is not held back").isEqualTo(b.cert());
  }

  /** EDS cluster {@code name} originating TLS with a client certificate and CA both served over SDS. */
  private static Cluster tlsCluster(String name) {
    var common = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig
            .newBuilder().setName("kubernetes://client").setSdsConfig(MeshResources.ADS))
        .setCombinedValidationContext(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext
            .CombinedCertificateValidationContext.newBuilder().setValidationContextSdsSecretConfig(
                io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig.newBuilder()
                    .setName("kubernetes://client-cacert").setSdsConfig(MeshResources.ADS)));
    var upstream = io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.newBuilder()
        .setSni("partner.example.test").setCommonTlsContext(common).build();
    return edsCluster(name).toBuilder().setTransportSocket(io.envoyproxy.envoy.config.core.v3.TransportSocket
        .newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(upstream))).build();
  }

  @Test
  void secretsNamedOnlyInsideTransportSocketMatchesAreSubscribed() {
    Cluster tls = tlsCluster("v1");
    var plain = io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder().setName("envoy.transport_sockets.raw_buffer")
        .setTypedConfig(Any.pack(io.envoyproxy.envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer.getDefaultInstance()))
        .build();
    var wrapped = io.envoyproxy.envoy.config.core.v3.TransportSocket.newBuilder()
        .setName("envoy.transport_sockets.upstream_proxy_protocol").setTypedConfig(Any.pack(
            io.envoyproxy.envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport.newBuilder()
                .setTransportSocket(tls.getTransportSocket()).build()))
        .build();
    Cluster matches = tls.toBuilder().setTransportSocket(plain).addTransportSocketMatches(Cluster.TransportSocketMatch
        .newBuilder().setName("tlsMode-istio").setMatch(com.google.protobuf.Struct.newBuilder().putFields("tlsMode",
            com.google.protobuf.Value.newBuilder().setStringValue("istio").build()))
        .setTransportSocket(wrapped)).build();
    apply(ResourceType.CLUSTER, "1", matches);
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    apply(ResourceType.LISTENER, "1", listener(0));
    apply(ResourceType.ROUTE, "1", route("v1", "1"));

    assertThat(cache.sdsSubscription()).as("the match's TLS context, unwrapped from upstream_proxy_protocol")
        .containsExactly("kubernetes://client", "kubernetes://client-cacert");
  }

  @Test
  void aNewTlsClusterWarmsUntilItsSecretsArriveItsRoutesFindingNoClusterMeanwhile() throws Exception {
    var ca = new io.keelson.dataplane.testing.TestCa("cache-ca");
    var client = ca.issue("client");
    apply(ResourceType.CLUSTER, "1", tlsCluster("v1"));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    apply(ResourceType.LISTENER, "1", listener(0));
    XdsResourceCache.Outcome published = apply(ResourceType.ROUTE, "1", route("v1", "1"));
    assertThat(published.snapshot()).as("the rest of the configuration does not wait").isNotNull();
    assertThat(published.snapshot().cluster("v1")).as("warming: its route finds no cluster (503 NC)").isNull();
    assertThat(cache.warmingCount(ResourceType.CLUSTER)).isEqualTo(1);
    assertThat(cache.sdsSubscription()).containsExactly("kubernetes://client", "kubernetes://client-cacert");

    XdsResourceCache.Outcome arrived = apply(ResourceType.SECRET, "1",
        secret("kubernetes://client", client.certPem(), client.keyPem()), MeshResources.caSecret("kubernetes://client-cacert", ca));
    assertThat(arrived.snapshot()).as("its secrets put it in service").isNotNull();
    assertThat(cache.warmingCount(ResourceType.CLUSTER)).isZero();
    var server = ca.issue("partner.example.test", "partner.example.test");
    var stats = new io.keelson.dataplane.stats.StatsRegistry().tls("cluster.v1");
    assertThat(handshake(arrived.snapshot().cluster("v1").tls(), server, stats)).isNull();
  }

  @Test
  void anUpdatedTlsClusterServesItsPreviousVersionUntilItsNewCaArrives() throws Exception {
    var caA = new io.keelson.dataplane.testing.TestCa("ca-a");
    var caB = new io.keelson.dataplane.testing.TestCa("ca-b");
    var serverA = caA.issue("partner.example.test", "partner.example.test");
    var serverB = caB.issue("partner.example.test", "partner.example.test");
    var stats = new io.keelson.dataplane.stats.StatsRegistry().tls("cluster.v1");
    apply(ResourceType.CLUSTER, "1", MeshResources.verifyingCluster("v1", "kubernetes://ca-a", null));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    apply(ResourceType.LISTENER, "1", listener(0));
    apply(ResourceType.ROUTE, "1", route("v1", "1"));
    XdsResourceCache.Outcome first = apply(ResourceType.SECRET, "1", MeshResources.caSecret("kubernetes://ca-a", caA));
    assertThat(handshake(first.snapshot().cluster("v1").tls(), serverA, stats)).isNull();

    XdsResourceCache.Outcome updated = apply(ResourceType.CLUSTER, "2", MeshResources.verifyingCluster("v1", "kubernetes://ca-b", null));
    assertThat(updated.accepted()).as("warming does not hold the ACK back").isTrue();
    assertThat(cache.warmingCount(ResourceType.CLUSTER)).isEqualTo(1);
    assertThat(cache.sdsSubscription()).containsExactly("kubernetes://ca-b");
    io.keelson.dataplane.tls.ClientTls running = updated.snapshot() == null ? first.snapshot().cluster("v1").tls()
        : updated.snapshot().cluster("v1").tls();
    assertThat(handshake(running, serverA, stats)).as("the previous version keeps serving").isNull();

    XdsResourceCache.Outcome arrived = apply(ResourceType.SECRET, "2", MeshResources.caSecret("kubernetes://ca-b", caB));
    assertThat(arrived.snapshot()).as("the new version goes into service").isNotNull();
    assertThat(cache.warmingCount(ResourceType.CLUSTER)).isZero();
    assertThat(handshake(arrived.snapshot().cluster("v1").tls(), serverB, stats)).isNull();
    assertThat(handshake(arrived.snapshot().cluster("v1").tls(), serverA, stats)).as("the old CA is gone").isNotNull();
  }

  @Test
  void aWarmingClusterGoesIntoServiceWhenItsSecretsInitialFetchTimeoutPassesAndTakesThemLiveLater() throws Exception {
    var ca = new io.keelson.dataplane.testing.TestCa("late-ca");
    var server = ca.issue("partner.example.test", "partner.example.test");
    var stats = new io.keelson.dataplane.stats.StatsRegistry().tls("cluster.v1");
    java.util.List<java.time.Duration> delays = new java.util.ArrayList<>();
    java.util.List<Runnable> timers = new java.util.ArrayList<>();
    java.util.List<io.keelson.dataplane.config.ProxySnapshot> warmed = new java.util.ArrayList<>();
    cache.warmOn((after, task) -> {
      delays.add(after);
      timers.add(task);
      return () -> timers.remove(task);
    }, o -> warmed.add(o.snapshot()));
    apply(ResourceType.CLUSTER, "1", MeshResources.verifyingCluster("v1", "kubernetes://late-ca", java.time.Duration.ofSeconds(1)));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    apply(ResourceType.LISTENER, "1", listener(0));
    assertThat(apply(ResourceType.ROUTE, "1", route("v1", "1")).snapshot().cluster("v1")).isNull();
    assertThat(delays).as("the secret's ConfigSource initial_fetch_timeout").containsExactly(java.time.Duration.ofSeconds(1));

    timers.get(0).run();
    assertThat(warmed).as("the passed deadline installs a snapshot").hasSize(1);
    io.keelson.dataplane.tls.ClientTls tls = warmed.get(0).cluster("v1").tls();
    assertThat(cache.warmingCount(ResourceType.CLUSTER)).isZero();
    assertThat(handshake(tls, server, stats)).as("in service without its secret: it fails closed")
        .hasMessage(io.keelson.dataplane.tls.TlsPipeline.SECRETS_NOT_READY);

    XdsResourceCache.Outcome arrived = apply(ResourceType.SECRET, "1", MeshResources.caSecret("kubernetes://late-ca", ca));
    assertThat(arrived.snapshot()).as("delivered into the running cluster's slot, no new snapshot").isNull();
    assertThat(handshake(tls, server, stats)).as("the same context handshakes once it arrived").isNull();
  }

  @Test
  void anInitialFetchTimeoutOfZeroWaitsForever() {
    cache.warmOn((after, task) -> {
      throw new AssertionError("no deadline expected, got " + after);
    }, s -> { });
    apply(ResourceType.CLUSTER, "1", MeshResources.verifyingCluster("v1", "kubernetes://ca", java.time.Duration.ZERO));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    apply(ResourceType.LISTENER, "1", listener(0));
    assertThat(apply(ResourceType.ROUTE, "1", route("v1", "1")).snapshot().cluster("v1")).isNull();
    assertThat(cache.warmingCount(ResourceType.CLUSTER)).isEqualTo(1);
  }

  /** A TLS handshake of {@code tls} (the connection's path) with a Netty server presenting {@code server}: its failure, or null. */
  private static Throwable handshake(io.keelson.dataplane.tls.ClientTls tls, io.keelson.dataplane.testing.TestCa.Leaf server,
      io.keelson.dataplane.stats.TlsStats stats) throws Exception {
    var group = new io.netty.channel.MultiThreadIoEventLoopGroup(1, io.netty.channel.nio.NioIoHandler.newFactory());
    try {
      io.netty.handler.ssl.SslContext serverContext = io.netty.handler.ssl.SslContextBuilder
          .forServer(server.key(), server.cert()).build();
      io.netty.channel.Channel listening = new io.netty.bootstrap.ServerBootstrap().group(group)
          .channel(io.netty.channel.socket.nio.NioServerSocketChannel.class)
          .childHandler(new io.netty.channel.ChannelInitializer<io.netty.channel.Channel>() {
            @Override
            protected void initChannel(io.netty.channel.Channel ch) {
              ch.pipeline().addLast(serverContext.newHandler(ch.alloc()));
            }
          }).bind("127.0.0.1", 0).sync().channel();
      int port = ((java.net.InetSocketAddress) listening.localAddress()).getPort();
      java.util.concurrent.CompletableFuture<Throwable> done = new java.util.concurrent.CompletableFuture<>();
      new io.netty.bootstrap.Bootstrap().group(group).channel(io.netty.channel.socket.nio.NioSocketChannel.class)
          .handler(new io.netty.channel.ChannelInitializer<io.netty.channel.Channel>() {
            @Override
            protected void initChannel(io.netty.channel.Channel ch) {
              io.keelson.dataplane.tls.TlsPipeline.addClient(ch, tls, stats, "127.0.0.1", port);
            }
          }).connect("127.0.0.1", port).addListener((io.netty.channel.ChannelFuture f) -> {
            if (!f.isSuccess()) {
              done.complete(f.cause());
              return;
            }
            io.keelson.dataplane.tls.TlsPipeline.clientHandshake(f.channel(),
                f.channel().pipeline().get(io.netty.handler.ssl.SslHandler.class), tls, stats)
                .addListener(h -> done.complete(h.cause()));
          });
      Throwable outcome = done.get(10, java.util.concurrent.TimeUnit.SECONDS);
      listening.close().sync();
      return outcome;
    } finally {
      group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS).sync();
    }
  }

  @Test
  void aSecretNoListenerNamesAnyMoreIsDroppedWithItsKey() throws Exception {
    var ca = new io.keelson.dataplane.testing.TestCa("cache-ca");
    var a = ca.issue("a.example.com", "a.example.com");
    apply(ResourceType.CLUSTER, "1", edsCluster("v1"));
    apply(ResourceType.ENDPOINT, "1", endpoints("v1", 8081, 1));
    apply(ResourceType.LISTENER, "1", tlsListener(0));
    apply(ResourceType.ROUTE, "1", route("v1", "1"));
    assertThat(apply(ResourceType.SECRET, "1", secret(a.certPem(), a.keyPem())).snapshot()).isNotNull();
    var slot = cache.listenerSecrets().slot("kubernetes://cert");

    assertThat(apply(ResourceType.LISTENER, "2", listener(0)).snapshot()).as("the plain listener replaces it")
        .isNotNull();

    assertThat(cache.listenerSecrets().names()).isEmpty();
    assertThat(slot.delivered()).as("the dropped slot holds no key").isFalse();
  }

  @Test
  void aRefusedInstallLeavesNoEmptySlotOfItsNewListeners() throws Exception {
    var ca = new io.keelson.dataplane.testing.TestCa("cache-ca");
    var a = ca.issue("a.example.com", "a.example.com");
    var refuse = new java.util.concurrent.atomic.AtomicBoolean();
    var refusing = new XdsResourceCache(Bootstrap.StaticResources.getDefaultInstance(), snapshot -> {
      if (refuse.get()) {
        throw new io.keelson.dataplane.config.ConfigException("listener port in use");
      }
    });
    refusing.apply(ResourceType.CLUSTER, sotw(edsCluster("v1")), Set.of(), true, "1");
    refusing.apply(ResourceType.ENDPOINT, sotw(endpoints("v1", 8081, 1)), Set.of(), true, "1");
    refusing.apply(ResourceType.LISTENER, sotw(listener(0)), Set.of(), true, "1");
    assertThat(refusing.apply(ResourceType.ROUTE, sotw(route("v1", "1")), Set.of(), true, "1").snapshot()).isNotNull();
    assertThat(refusing.apply(ResourceType.SECRET, sotw(secret(a.certPem(), a.keyPem())), Set.of(), true, "1")
        .accepted()).isTrue();
    refuse.set(true);

    XdsResourceCache.Outcome refused = refusing.apply(ResourceType.LISTENER, sotw(tlsListener(0)), Set.of(), true, "2");

    assertThat(refused.accepted()).as("the installer refused it").isFalse();
    assertThat(refused.error()).contains("listener port in use");
    assertThat(refusing.listenerSecrets().names()).as("no slot left over from the refused listeners").isEmpty();
  }
}
