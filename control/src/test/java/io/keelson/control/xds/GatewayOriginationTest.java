package io.keelson.control.xds;

import static io.keelson.control.xds.GatewayTranslationTest.b64;
import static io.keelson.control.xds.GatewayTranslationTest.store;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.store.PolicySet;
import io.keelson.dataplane.testing.TestCa;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * DestinationRule {@code tls.credentialName} in translation: a gateway's ServiceEntry clusters name istiod's SDS secrets
 * ({@code kubernetes://<name>}, {@code kubernetes://<name>-cacert}), sidecars' originate nothing with it (istiod without
 * a workloadSelector), each gateway is served the Secrets of its own namespace only, a rotation changes no cluster, and
 * a rule naming a Secret no namespace has is refused at its field.
 */
class GatewayOriginationTest {
  private static final String ENTRIES = """
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: partner, namespace: istio-system }
      spec:
        hosts: [ partner.example.test ]
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP, targetPort: 8443 } ]
        endpoints: [ { address: 127.0.0.1 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: simple, namespace: istio-system }
      spec:
        hosts: [ simple.example.test ]
        resolution: STATIC
        ports: [ { number: 80, name: http, protocol: HTTP, targetPort: 9443 } ]
        endpoints: [ { address: 127.0.0.1 } ]
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: partner, namespace: istio-system }
      spec:
        host: partner.example.test
        trafficPolicy: { tls: { mode: MUTUAL, credentialName: partner-client } }
      ---
      apiVersion: networking.istio.io/v1
      kind: DestinationRule
      metadata: { name: simple, namespace: istio-system }
      spec:
        host: simple.example.test
        trafficPolicy: { tls: { mode: SIMPLE, credentialName: simple-ca, subjectAltNames: [ api.example.test ] } }
      """;

  /** The client certificate (no CA) and its CA in a separate -cacert Secret; a CA-only Secret with Istio's cacert. */
  private static String secrets(TestCa.Leaf client, TestCa ca, String namespace) {
    return """
        apiVersion: v1
        kind: Secret
        metadata: { name: partner-client, namespace: %4$s }
        type: kubernetes.io/tls
        data: { tls.crt: %1$s, tls.key: %2$s }
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: partner-client-cacert, namespace: %4$s }
        type: Opaque
        data: { ca.crt: %3$s }
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: simple-ca, namespace: %4$s }
        type: Opaque
        data: { cacert: %3$s }
        """.formatted(b64(client.certPem()), b64(client.keyPem()), b64(ca.certPem()), namespace);
  }

  @Test
  void gatewaysOriginateOverSdsWithIstiodsNamesAndSidecarsDoNot() throws Exception {
    TestCa ca = new TestCa("partner-ca");
    TestCa.Leaf client = ca.issue("egress-client");
    PolicySet state = store(secrets(client, ca, "istio-system") + "---\n" + ENTRIES).current();
    MeshResources shared = new MeshTranslator(15001, false).translate(state, List.of());
    MeshResources gateway = GatewayTranslator.translate(shared, state, Map.of("istio", "egressgateway"), "0.0.0.0",
        "istio-system", true);

    UpstreamTlsContext mutual = tls(cluster(gateway, "outbound|80||partner.example.test"));
    assertThat(mutual.getSni()).isEqualTo("partner.example.test");
    assertThat(mutual.getCommonTlsContext().getTlsCertificatesCount()).as("no inline key").isZero();
    assertThat(mutual.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getName())
        .isEqualTo("kubernetes://partner-client");
    assertThat(mutual.getCommonTlsContext().getTlsCertificateSdsSecretConfigs(0).getSdsConfig().hasAds()).isTrue();
    var validation = mutual.getCommonTlsContext().getCombinedValidationContext();
    assertThat(validation.getValidationContextSdsSecretConfig().getName())
        .isEqualTo("kubernetes://partner-client-cacert");
    assertThat(validation.getDefaultValidationContext().getMatchTypedSubjectAltNames(0).getMatcher().getExact())
        .as("the server's name defaults to the SNI, as with files").isEqualTo("partner.example.test");
    UpstreamTlsContext simple = tls(cluster(gateway, "outbound|80||simple.example.test"));
    assertThat(simple.getCommonTlsContext().getTlsCertificateSdsSecretConfigsCount()).as("SIMPLE: no certificate")
        .isZero();
    assertThat(simple.getCommonTlsContext().getCombinedValidationContext().getValidationContextSdsSecretConfig()
        .getName()).isEqualTo("kubernetes://simple-ca-cacert");
    assertThat(simple.getCommonTlsContext().getCombinedValidationContext().getDefaultValidationContext()
        .getMatchTypedSubjectAltNames(0).getMatcher().getExact()).isEqualTo("api.example.test");
    assertThat(gateway.clustersVersion()).isNotEqualTo(shared.clustersVersion());

    // Sidecars: istiod builds no TLS from a credentialName of a rule without a workloadSelector.
    assertThat(cluster(shared, "outbound|80||partner.example.test").hasTransportSocket()).isFalse();
    assertThat(cluster(shared, "outbound|80||simple.example.test").hasTransportSocket()).isFalse();

    // Served: the certificate and both CAs to a gateway of istio-system; nothing to one of another namespace.
    assertThat(GatewaySecrets.forGateway(state, Map.of("istio", "egressgateway"), "istio-system").secrets())
        .extracting(Secret::getName).containsExactly("kubernetes://partner-client",
            "kubernetes://partner-client-cacert", "kubernetes://simple-ca-cacert");
    Secret ca1 = GatewaySecrets.forGateway(state, Map.of(), "istio-system").secrets().get(1);
    assertThat(ca1.getValidationContext().getTrustedCa().getInlineString()).isEqualTo(ca.certPem());
    assertThat(GatewaySecrets.forGateway(state, Map.of("istio", "egressgateway"), "shop").secrets()).isEmpty();

    // The data plane takes the clusters with the secrets delivered.
    var snapshot = GatewayTranslationTest.dataPlaneTakes(gateway, state, Map.of("istio", "egressgateway"),
        "istio-system");
    assertThat(snapshot.warnings()).isEmpty();

    // A rotation (new client certificate, new CA) is the secrets' change only: the clusters stay as they were.
    TestCa ca2 = new TestCa("partner-ca-2");
    PolicySet rotated = store(secrets(ca2.issue("egress-client-2"), ca2, "istio-system") + "---\n" + ENTRIES).current();
    MeshResources after = GatewayTranslator.translate(new MeshTranslator(15001, false).translate(rotated, List.of()),
        rotated, Map.of("istio", "egressgateway"), "0.0.0.0", "istio-system", true);
    assertThat(after.clustersVersion()).isEqualTo(gateway.clustersVersion());
    assertThat(GatewaySecrets.forGateway(rotated, Map.of(), "istio-system").version())
        .isNotEqualTo(GatewaySecrets.forGateway(state, Map.of(), "istio-system").version());
  }

  @Test
  void aCredentialNoNamespaceCanUseIsRefusedAtItsField() throws Exception {
    TestCa ca = new TestCa("partner-ca");
    assertThatThrownBy(() -> store(ENTRIES)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("DestinationRule/istio-system/partner: spec.trafficPolicy.tls.credentialName: no namespace has a"
            + " usable Secret 'partner-client'")
        .hasMessageContaining("DestinationRule/istio-system/simple: spec.trafficPolicy.tls.credentialName: no namespace has a"
            + " usable Secret 'simple-ca'");
    // Deleting the Secret a rule's credential needs is refused the same way.
    var store = store(secrets(ca.issue("egress-client"), ca, "istio-system") + "---\n" + ENTRIES);
    assertThatThrownBy(() -> store.delete("Secret", "istio-system", "simple-ca", false))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("DestinationRule/istio-system/simple: spec.trafficPolicy.tls.credentialName: would break if"
            + " Secret/istio-system/simple-ca were deleted: no namespace has a usable Secret 'simple-ca'");
    // MUTUAL needs the certificate: a CA-only Secret of that name does not do.
    String caOnly = """
        apiVersion: v1
        kind: Secret
        metadata: { name: partner-client, namespace: istio-system }
        type: Opaque
        data: { cacert: %1$s }
        ---
        apiVersion: v1
        kind: Secret
        metadata: { name: simple-ca, namespace: istio-system }
        type: Opaque
        data: { cacert: %1$s }
        """.formatted(b64(ca.certPem()));
    assertThatThrownBy(() -> store(caOnly + "---\n" + ENTRIES)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.trafficPolicy.tls.credentialName: no namespace has a usable Secret"
            + " 'partner-client'")
        .hasMessageContaining("and tls.crt and tls.key (mode MUTUAL)")
        .hasMessageNotContaining("'simple-ca'");
    // A CA-only Secret is no Gateway certificate.
    assertThatThrownBy(() -> store(caOnly + """
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: { name: edge, namespace: istio-system }
        spec:
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 8443, name: https, protocol: HTTPS }
            hosts: [ "*" ]
            tls: { mode: SIMPLE, credentialName: simple-ca }
        """)).isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.servers[0].tls.credentialName: Gateway istio-system/edge server 0: Secret"
            + " 'simple-ca' holds a CA only");
  }

  private static Cluster cluster(MeshResources r, String name) {
    return r.clusters().stream().filter(c -> c.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no cluster " + name));
  }

  private static UpstreamTlsContext tls(Cluster c) throws Exception {
    return c.getTransportSocket().getTypedConfig().unpack(UpstreamTlsContext.class);
  }
}
