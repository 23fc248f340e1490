package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Any;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.security.MeshTls;
import io.keelson.dataplane.security.StaticCertificateSource;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslProvider;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;

/**
 * Istio's TCP metadata exchange (ALPN {@code istio-peer-exchange}) between real proxies over mesh mTLS from the control
 * plane: an ingress gateway's TCP server relays to a STRICT tcp sidecar of a TCP echo app. Both reporters' TCP series,
 * scraped from the admin ports, name the other side's workload, app and version (the principal stays the
 * certificate's) and both clusters ({@code CLUSTER_ID}: the gateway's default {@code Kubernetes}, the sidecar's
 * {@code --cluster-id east}); the app sees none of the exchange's bytes. A hand-built frame in istio/proxy's format names its
 * workload the same way; a peer offering only {@code istio} and one sending garbage after negotiating the exchange are
 * relayed as before.
 */
class IstioTcpPeerExchangeEndToEndTest {
  private static final String INGRESS = "spiffe://cluster.local/ns/istio-system/sa/ingress";
  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: tcp-echo }
      spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
      ---
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: { name: default, namespace: default }
      spec: { mtls: { mode: STRICT } }
      ---
      apiVersion: networking.istio.io/v1
      kind: Gateway
      metadata: { name: ingress, namespace: istio-system }
      spec:
        selector: { istio: ingressgateway }
        servers: [ { port: { number: %1$d, name: tcp, protocol: TCP }, hosts: [ "*" ] } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: echo }
      spec:
        hosts: [ "*" ]
        gateways: [ istio-system/ingress ]
        tcp: [ { match: [ { port: %1$d } ], route: [ { destination: { host: tcp-echo } } ] } ]
      """;

  @Test
  void bothReportersTcpSeriesNameThePeersWorkloadAndTheAppSeesNoExchangeBytes() throws Exception {
    int tcp = IngressGatewayTest.freePort();
    try (ControlPlane cp = GrpcMeshTest.controlPlane();
        SidecarTcpAuthorizationTest.TcpEcho app = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar echo = echoSidecar(cp, app.port());
        Sidecar gateway = gateway(cp)) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", MESH.formatted(tcp)).policies(), false);
      await().atMost(Duration.ofSeconds(30)).until(() -> SidecarTcpAuthorizationTest.plaintext(tcp).equals("hello world"));
      assertThat(SidecarTcpAuthorizationTest.plaintext(tcp)).as("the app read exactly the client's line")
          .isEqualTo("hello world");
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(IstioPeerMetadataEndToEndTest.samples(echo, "istio_tcp_connections_opened_total",
            "reporter=\"destination\"", "source_workload=\"ingress\"", "source_principal=\"" + INGRESS + "\"",
            "source_workload_namespace=\"istio-system\"", "destination_workload=\"tcp-echo\"",
            "destination_app=\"echo\"", "destination_version=\"v3\"", "connection_security_policy=\"mutual_tls\"",
            "request_protocol=\"tcp\"", "source_cluster=\"Kubernetes\"", "destination_cluster=\"east\""))
            .as(IstioPeerMetadataEndToEndTest.scrape(echo)).hasSize(1)
            .allMatch(l -> l.endsWith(" 2"));
        assertThat(IstioPeerMetadataEndToEndTest.samples(echo, "istio_tcp_received_bytes_total",
            "source_workload=\"ingress\"")).as("both connections' \"world\\n\" (as the existing TCP series count them), "
            + "no frame bytes")
            .hasSize(1).allMatch(l -> l.endsWith(" 12"));
        assertThat(IstioPeerMetadataEndToEndTest.samples(gateway, "istio_tcp_connections_opened_total",
            "reporter=\"source\"", "source_workload=\"ingress\"", "destination_workload=\"tcp-echo\"",
            "destination_app=\"echo\"", "destination_version=\"v3\"", "destination_service=\"tcp-echo\"",
            "request_protocol=\"tcp\"", "source_cluster=\"Kubernetes\"", "destination_cluster=\"east\""))
            .as(IstioPeerMetadataEndToEndTest.scrape(gateway)).hasSize(1)
            .allMatch(l -> l.endsWith(" 2"));
      });
    }
  }

  @Test
  void aFrameInIstioProxysFormatNamesItsWorkloadAndPeersWithoutTheExchangeStillWork() throws Exception {
    try (ControlPlane cp = GrpcMeshTest.controlPlane();
        SidecarTcpAuthorizationTest.TcpEcho app = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar echo = echoSidecar(cp, app.port())) {
      cp.store.apply(PolicyParser.parse("mesh.yaml", MESH.formatted(IngressGatewayTest.freePort())).policies(), false);
      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        var in = SidecarTcpAuthorizationTest.inbound(echo);
        assertThat(in != null && in.tcpProxy() != null && in.tcpProxy().peerExchangeProtocol() != null
            && !in.plaintextToo()).isTrue();
      });
      int inbound = echo.inboundAddress().getPort();
      var ca = cp.security.ca();
      var ratings = new StaticCertificateSource(SidecarMtlsTest.svid(ca, ca.identity("shop", "ratings")), ca.roots());

      // As an Envoy sidecar with istio/proxy's filter: ALPN istio-peer-exchange, istio; its frame first.
      try (SSLSocket s = mtls(inbound, ratings, "istio-peer-exchange", "istio")) {
        assertThat(s.getApplicationProtocol()).isEqualTo("istio-peer-exchange");
        s.getOutputStream().write(istioProxyFrame());
        s.getOutputStream().write("world\n".getBytes(StandardCharsets.US_ASCII));
        Struct echoMetadata = readFrame(s.getInputStream());
        assertThat(echoMetadata.getFieldsOrThrow("x-envoy-peer-metadata").getStructValue().getFieldsOrThrow("LABELS")
            .getStructValue().getFieldsOrThrow("app").getStringValue()).isEqualTo("echo");
        assertThat(SidecarTcpAuthorizationTest.readLine(s.getInputStream())).isEqualTo("hello world");
      }
      // An older peer offering only istio: no exchange, relayed as before.
      try (SSLSocket s = mtls(inbound, ratings, "istio")) {
        assertThat(s.getApplicationProtocol()).isEmpty();
        s.getOutputStream().write("plain\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(SidecarTcpAuthorizationTest.readLine(s.getInputStream())).isEqualTo("hello plain");
      }
      // Garbage where the frame belongs (a bad magic; a length over the bound): no exchange, the bytes reach the app.
      try (SSLSocket s = mtls(inbound, ratings, "istio-peer-exchange")) {
        s.getOutputStream().write("garbage\n".getBytes(StandardCharsets.US_ASCII));
        readFrame(s.getInputStream());
        assertThat(SidecarTcpAuthorizationTest.readLine(s.getInputStream())).isEqualTo("hello garbage");
      }
      try (SSLSocket s = mtls(inbound, ratings, "istio-peer-exchange")) {
        s.getOutputStream().write(ByteBuffer.allocate(8).putInt(0x3D230467).putInt(Integer.MAX_VALUE).array());
        s.getOutputStream().write("huge\n".getBytes(StandardCharsets.US_ASCII));
        readFrame(s.getInputStream());
        assertThat(SidecarTcpAuthorizationTest.readLine(s.getInputStream())).endsWith("huge");
      }
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertThat(IstioPeerMetadataEndToEndTest.samples(echo, "istio_tcp_connections_opened_total",
            "reporter=\"destination\"", "source_workload=\"ratings-v1\"", "source_app=\"ratings\"",
            "source_version=\"v1\"", "source_principal=\"spiffe://cluster.local/ns/shop/sa/ratings\"",
            "destination_app=\"echo\"", "connection_security_policy=\"mutual_tls\"", "source_cluster=\"Kubernetes\"",
            "destination_cluster=\"east\""))
            .as(IstioPeerMetadataEndToEndTest.scrape(echo)).hasSize(1).allMatch(l -> l.endsWith(" 1"));
        assertThat(IstioPeerMetadataEndToEndTest.samples(echo, "istio_tcp_connections_opened_total",
            "reporter=\"destination\"", "source_workload=\"unknown\"",
            "source_principal=\"spiffe://cluster.local/ns/shop/sa/ratings\"")).as("without an exchange")
            .hasSize(1).allMatch(l -> l.endsWith(" 3"));
      });
      try (SSLSocket s = mtls(inbound, ratings, "istio")) {
        s.getOutputStream().write("still\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(SidecarTcpAuthorizationTest.readLine(s.getInputStream())).as("the sidecar still serves").isEqualTo("hello still");
      }
    }
  }

  /** The STRICT tcp sidecar of the echo app: tcp-echo, default/echo, app echo, version v3, in cluster east. */
  private static Sidecar echoSidecar(ControlPlane cp, int appPort) throws Exception {
    return SidecarMtlsTest.secureProxy(cp, "default", "echo", new SidecarBootstrap("127.0.0.1",
        cp.security.securePort().port(), "tcp-echo", Map.of("app", "echo", "version", "v3"), appPort, 0, 0,
        "127.0.0.1", 0, true).withClusterId("east"));
  }

  private static Sidecar gateway(ControlPlane cp) throws Exception {
    return SidecarMtlsTest.secureProxy(cp, "istio-system", "ingress", SidecarBootstrap.gateway("127.0.0.1",
        cp.security.securePort().port(), "ingress", Map.of("istio", "ingressgateway"), "127.0.0.1", "127.0.0.1", 0));
  }

  /** An mTLS connection as {@code client} offering {@code alpn}, handshaken. */
  private static SSLSocket mtls(int port, StaticCertificateSource client, String... alpn) throws Exception {
    SSLSocket s = (SSLSocket) ((JdkSslContext) MeshTls.client(client, null, SslProvider.JDK)).context()
        .getSocketFactory().createSocket("127.0.0.1", port);
    s.setSoTimeout(10_000);
    SSLParameters p = s.getSSLParameters();
    p.setApplicationProtocols(alpn);
    s.setSSLParameters(p);
    s.startHandshake();
    return s;
  }

  /**
   * A frame as istio/proxy's {@code writeNodeMetadata} builds it: magic 0x3D230467, the data length, then an Any
   * (type Struct) of {x-envoy-peer-metadata: the node metadata, x-envoy-peer-metadata-id: the node id}.
   */
  private static byte[] istioProxyFrame() {
    Struct labels = Struct.newBuilder().putFields("app", str("ratings")).putFields("version", str("v1"))
        .putFields("service.istio.io/canonical-name", str("ratings")).build();
    Struct node = Struct.newBuilder().putFields("NAME", str("ratings-v1-7dc98c7588-xk2qd"))
        .putFields("WORKLOAD_NAME", str("ratings-v1")).putFields("NAMESPACE", str("shop"))
        .putFields("CLUSTER_ID", str("Kubernetes")).putFields("SERVICE_ACCOUNT", str("ratings"))
        .putFields("MESH_ID", str("cluster.local"))
        .putFields("LABELS", Value.newBuilder().setStructValue(labels).build()).build();
    Struct data = Struct.newBuilder().putFields("x-envoy-peer-metadata", Value.newBuilder().setStructValue(node).build())
        .putFields("x-envoy-peer-metadata-id", str("sidecar~10.0.0.7~ratings-v1-7dc98c7588-xk2qd.shop~shop.svc.cluster.local"))
        .build();
    byte[] any = Any.newBuilder().setTypeUrl("type.googleapis.com/google.protobuf.Struct")
        .setValue(data.toByteString()).build().toByteArray();
    return ByteBuffer.allocate(8 + any.length).putInt(0x3D230467).putInt(any.length).put(any).array();
  }

  /** Reads one frame (checking its magic) and returns its Struct. */
  private static Struct readFrame(InputStream in) throws IOException {
    DataInputStream d = new DataInputStream(in);
    assertThat(d.readInt()).as("magic").isEqualTo(0x3D230467);
    byte[] data = new byte[d.readInt()];
    d.readFully(data);
    Any any = Any.parseFrom(data);
    assertThat(any.getTypeUrl()).isEqualTo("type.googleapis.com/google.protobuf.Struct");
    return Struct.parseFrom(any.getValue());
  }

  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }
}
