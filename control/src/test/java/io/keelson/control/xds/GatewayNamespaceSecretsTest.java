package io.keelson.control.xds;

import static io.keelson.control.xds.SourceMatchTranslationTest.str;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.Pem;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import io.keelson.dataplane.testing.TestCa;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An egress gateway outside the root namespace is served the SDS secrets its own clusters name: those of the
 * DestinationRules its namespace gets (its own rule for a ServiceEntry host of another namespace), not of the shared
 * view's. Real control plane, a raw ADS stream with a join token of istio-egress.
 */
class GatewayNamespaceSecretsTest {
  @TempDir
  Path dir;

  @Test
  void aGatewaysSecretsFollowItsNamespacesDestinationRules() throws Exception {
    String ca = Base64.getEncoder().encodeToString(new TestCa("x-ca").certPem().getBytes());
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
        CaOptions.selfSigned(null), 0))) {
      cp.store.apply(PolicyParser.parse("egress.yaml", """
          apiVersion: v1
          kind: Secret
          metadata: { name: simple-ca, namespace: istio-egress }
          type: Opaque
          data: { cacert: %s }
          ---
          apiVersion: networking.istio.io/v1
          kind: ServiceEntry
          metadata: { name: simple, namespace: default }
          spec:
            hosts: [ simple.example.test ]
            resolution: STATIC
            ports: [ { number: 80, name: http, protocol: HTTP, targetPort: 8443 } ]
            endpoints: [ { address: 127.0.0.1 } ]
          ---
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: simple, namespace: istio-egress }
          spec:
            host: simple.example.test
            trafficPolicy: { tls: { mode: SIMPLE, credentialName: simple-ca } }
          """.formatted(ca)).policies(), false);
      Path root = dir.resolve("root.pem");
      Files.writeString(root, Pem.encode(cp.security.ca().roots().getFirst()));
      String token = cp.security.tokens().create("istio-egress", "egress", null).token();
      Node node = Node.newBuilder().setId("egress~1").setCluster("egress").setMetadata(Struct.newBuilder()
          .putFields(NodeRegistration.GATEWAY, Value.newBuilder().setBoolValue(true).build())
          .putFields(NodeRegistration.GATEWAY_ADDRESS, str("127.0.0.1"))
          .putFields(NodeRegistration.LABELS, Value.newBuilder().setStructValue(Struct.newBuilder()
              .putFields("istio", str("egressgateway"))).build())).build();
      var stream = NodeHoldReconnectTest.Stream.open(new ControlPlaneCredentials(root, token).apply(
          NettyChannelBuilder.forAddress("127.0.0.1", cp.security.securePort().port())).build(), node);
      try {
        await().atMost(Duration.ofSeconds(20)).until(() -> cp.xds.resourcesFor("egress~1") != null
            && cp.xds.resourcesFor("egress~1").clusters().toString().contains("kubernetes://simple-ca-cacert"));
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(cp.xds.secretNamesFor("egress~1"))
            .as("the secret its cluster names is served").contains("kubernetes://simple-ca-cacert"));
        assertThat(cp.xds.changedFor(cp.store.current(), cp.store.current().without(
            p -> p instanceof io.keelson.control.policy.Policy.Secret)).get("egress~1"))
            .as("a dry run removing the Secret names the gateway's secrets").contains("secrets");
      } finally {
        stream.close();
      }
    }
  }
}
