package io.keelson.control.xds;

import static io.keelson.control.xds.SourceMatchTranslationTest.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.Pem;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sidecar with a join token and no SPIFFE ID sees the mesh as its token's namespace does (exportTo, DestinationRules,
 * Sidecar scope), never as the namespace its node metadata claims; a stream whose metadata namespace contradicts its
 * token is refused. Real control plane, its authenticated xDS port.
 */
class TokenNamespaceTest {
  @TempDir
  Path dir;

  private static final String MESH = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata:
        name: vault
        namespace: bank
        annotations: { networking.istio.io/exportTo: "." }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata:
        name: cart
        namespace: shop
        annotations: { networking.istio.io/exportTo: "." }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: web, namespace: shop }
      spec: { ports: [ { name: http, port: 80 } ] }
      """;

  @Test
  void aTokenWithoutSpiffeIdSeesItsTokensNamespace() throws Exception {
    try (ControlPlane cp = start()) {
      try (XdsClient c = XdsClient.start(XdsClientConfig.of("127.0.0.1", cp.security.securePort().port(), false,
          node("shop-web", null)).withCredentials(credentials(cp))
          .withBackoff(Duration.ofMillis(50), Duration.ofMillis(500)), s -> { })) {
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
            .until(() -> cp.xds.resourcesFor("shop-web").clusters().stream().anyMatch(k -> k.getName().equals("web.shop")));
        assertThat(cp.xds.resourcesFor("shop-web").clusters()).extracting(Cluster::getName)
            .as("its own namespace's private service, not bank's").contains("cart.shop").doesNotContain("vault.bank");
      }
    }
  }

  @Test
  void aMetadataNamespaceContradictingTheTokenIsRefused() throws Exception {
    try (ControlPlane cp = start()) {
      var stream = NodeHoldReconnectTest.Stream.open(credentials(cp).apply(
          NettyChannelBuilder.forAddress("127.0.0.1", cp.security.securePort().port())).build(), node("intruder", "bank"));
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> stream.error().get() != null);
        assertThat(stream.error().get().getMessage()).contains("PERMISSION_DENIED")
            .contains("metadata namespace 'bank' is not its join token's namespace 'shop'");
        assertThat(stream.responses().get()).isZero();
        assertThat(cp.xds.resourcesFor("intruder")).isNull();
      } finally {
        stream.close();
      }
    }
  }

  private static ControlPlane start() throws Exception {
    ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
        CaOptions.selfSigned(null), 0));
    cp.store.apply(PolicyParser.parse("mesh.yaml", MESH).policies(), false);
    return cp;
  }

  private ControlPlaneCredentials credentials(ControlPlane cp) throws Exception {
    Path root = dir.resolve("root.pem");
    Files.writeString(root, Pem.encode(cp.security.ca().roots().getFirst()));
    return new ControlPlaneCredentials(root, cp.security.tokens().create("shop", "web", null).token());
  }

  /** A sidecar of service web with no SPIFFE ID, naming {@code namespace} in its metadata (null: none). */
  private static Node node(String id, String namespace) {
    Struct.Builder md = Struct.newBuilder()
        .putFields(NodeRegistration.SERVICE, str("web"))
        .putFields(NodeRegistration.PORT, Value.newBuilder().setNumberValue(15006).build())
        .putFields(NodeRegistration.ADDRESS, str("127.0.0.31"));
    if (namespace != null) {
      md.putFields(NodeRegistration.NAMESPACE, str(namespace));
    }
    return Node.newBuilder().setId(id).setMetadata(md).build();
  }
}
