package io.keelson.dataplane.xds;

import static io.keelson.dataplane.testing.ProxyHarness.allTo;
import static io.keelson.dataplane.testing.ProxyHarness.bootstrap;
import static io.keelson.dataplane.testing.ProxyHarness.cluster;
import static io.keelson.dataplane.xds.MeshResources.address;
import static io.keelson.dataplane.xds.MeshResources.edsCluster;
import static io.keelson.dataplane.xds.MeshResources.endpoints;
import static io.keelson.dataplane.xds.MeshResources.listener;
import static io.keelson.dataplane.xds.MeshResources.route;
import static io.keelson.dataplane.xds.MeshResources.snapshot;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.listener.v3.ListenerFilter;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TestUpstream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An HTTPS listener pushed over LDS whose two SNI-selected TLS chains name different route configs over RDS:
 * both are subscribed and resolved, and an RDS update of one chain's routes reaches that chain's open
 * keep-alive connection live (no drain) while the other chain keeps its routes. Real xDS server, real TLS client.
 */
class XdsSniChainRoutesTest {
  @TempDir Path dir;

  @Test
  void anRdsUpdateChangesOnlyTheChainThatNamesTheRouteConfig() throws Exception {
    TestCa ca = new TestCa("keelson-test-ca");
    Path aCert = ca.issue("a.test", "a.test").write(dir, "a");
    Path bCert = ca.issue("b.test", "b.test").write(dir, "b");
    try (TestUpstream v1 = new TestUpstream("v1");
        TestUpstream v2 = new TestUpstream("v2");
        ProxyHarness proxy = new ProxyHarness(bootstrap(allTo("v1"), cluster("v1", "ROUND_ROBIN", v1.port())), PipelineMode.INLINE);
        JavaControlPlane controlPlane = new JavaControlPlane().start();
        XdsClient client = XdsClient.startInstalling(
            XdsClientConfig.of("127.0.0.1", controlPlane.port(), false, Node.newBuilder().setId("sni").build()),
            proxy.server::install)) {
      Listener https = Listener.newBuilder().setName("https").setAddress(address("127.0.0.1", 0))
          .addListenerFilters(ListenerFilter.newBuilder().setName("envoy.filters.listener.tls_inspector")
              .setTypedConfig(Any.pack(TlsInspector.getDefaultInstance())))
          .addFilterChains(tlsChain("a.test", aCert, "routes-a"))
          .addFilterChains(tlsChain("b.test", bCert, "routes-b"))
          .build();
      push(controlPlane, client, "1", v1, v2, List.of(listener(proxy.port()), https),
          route("v1", "1"), named(route("v1", "1"), "routes-a"), named(route("v2", "1"), "routes-b"));
      await().atMost(Duration.ofSeconds(10)).until(() -> proxy.server.boundListeners().containsKey("https"));
      int port = proxy.server.boundListeners().get("https").getPort();
      Listener atItsPort = https.toBuilder().setAddress(address("127.0.0.1", port)).build();

      try (Conn a = new Conn(ca, port, "a.test"); Conn b = new Conn(ca, port, "b.test")) {
        assertThat(a.upstream()).as("chain a's routes").isEqualTo("v1");
        assertThat(b.upstream()).as("chain b's routes").isEqualTo("v2");
        push(controlPlane, client, "2", v1, v2, List.of(listener(proxy.port()), atItsPort),
            route("v1", "1"), named(route("v2", "1"), "routes-a"), named(route("v2", "1"), "routes-b"));
        assertThat(a.upstream()).as("chain a after RDS changed routes-a, on the same connection").isEqualTo("v2");
        assertThat(b.upstream()).as("chain b unchanged").isEqualTo("v2");
        push(controlPlane, client, "3", v1, v2, List.of(listener(proxy.port()), atItsPort),
            route("v1", "1"), named(route("v2", "1"), "routes-a"), named(route("v1", "1"), "routes-b"));
        assertThat(b.upstream()).as("chain b after RDS changed routes-b").isEqualTo("v1");
        assertThat(a.upstream()).as("chain a unchanged").isEqualTo("v2");
      }
    }
  }

  private static RouteConfiguration named(RouteConfiguration r, String name) {
    return r.toBuilder().setName(name).build();
  }

  /** A chain for {@code sni} terminating TLS with {@code cert} (key beside it) whose connection manager reads {@code routes} over RDS. */
  private static FilterChain tlsChain(String sni, Path cert, String routes) throws Exception {
    FilterChain plain = listener(0).getFilterChains(0);
    var filter = plain.getFilters(0);
    HttpConnectionManager hcm = filter.getTypedConfig().unpack(HttpConnectionManager.class).toBuilder()
        .setStatPrefix("https_" + routes)
        .setRds(filter.getTypedConfig().unpack(HttpConnectionManager.class).getRds().toBuilder().setRouteConfigName(routes))
        .build();
    Path key = cert.resolveSibling(cert.getFileName().toString().replace(".crt", ".key"));
    DownstreamTlsContext tls = DownstreamTlsContext.newBuilder().setCommonTlsContext(CommonTlsContext.newBuilder()
        .addTlsCertificates(TlsCertificate.newBuilder()
            .setCertificateChain(DataSource.newBuilder().setFilename(cert.toString()))
            .setPrivateKey(DataSource.newBuilder().setFilename(key.toString())))).build();
    return plain.toBuilder()
        .setFilterChainMatch(FilterChainMatch.newBuilder().addServerNames(sni))
        .setTransportSocket(TransportSocket.newBuilder().setName("envoy.transport_sockets.tls").setTypedConfig(Any.pack(tls)))
        .setFilters(0, filter.toBuilder().setTypedConfig(Any.pack(hcm)))
        .build();
  }

  private static void push(JavaControlPlane cp, XdsClient client, String version, TestUpstream v1, TestUpstream v2,
      List<Listener> listeners, RouteConfiguration... routes) {
    cp.set(snapshot(version, List.of(edsCluster("v1"), edsCluster("v2")),
        List.of(endpoints("v1", v1.port(), 1), endpoints("v2", v2.port(), 1)), listeners, List.of(routes)));
    await().atMost(Duration.ofSeconds(10)).until(() -> client.lastSnapshot() != null
        && client.lastSnapshot().version().contains("LDS=" + version)
        && client.lastSnapshot().version().contains("RDS=" + version));
  }

  /** A keep-alive HTTPS connection asking for one server name. */
  private static final class Conn implements AutoCloseable {
    private final SSLSocket socket;

    Conn(TestCa ca, int port, String sni) throws Exception {
      socket = (SSLSocket) ca.clientContext().getSocketFactory().createSocket("127.0.0.1", port);
      socket.setSoTimeout(10_000);
      SSLParameters params = socket.getSSLParameters();
      params.setServerNames(List.of(new SNIHostName(sni)));
      socket.setSSLParameters(params);
      socket.startHandshake();
    }

    /** Sends a GET on this connection; the answering upstream's name (asserting 200 and no drain). */
    String upstream() throws Exception {
      socket.getOutputStream().write("GET /x HTTP/1.1\r\nHost: shared.test\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
      var in = socket.getInputStream();
      StringBuilder head = new StringBuilder();
      while (!head.toString().endsWith("\r\n\r\n")) {
        int c = in.read();
        if (c < 0) {
          throw new java.io.EOFException("closed after: " + head);
        }
        head.append((char) c);
      }
      String h = head.toString();
      assertThat(h).startsWith("HTTP/1.1 200").doesNotContainIgnoringCase("connection: close");
      int length = 0;
      String upstream = null;
      for (String line : h.split("\r\n")) {
        String lower = line.toLowerCase();
        if (lower.startsWith("content-length:")) {
          length = Integer.parseInt(line.substring(15).trim());
        } else if (lower.startsWith("x-upstream:")) {
          upstream = line.substring(11).trim();
        }
      }
      in.readNBytes(length);
      return upstream;
    }

    @Override
    public void close() throws Exception {
      socket.close();
    }
  }
}
