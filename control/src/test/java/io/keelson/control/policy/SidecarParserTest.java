package io.keelson.control.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.control.store.PolicyStore;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Istio's Sidecar as Keelson reads and validates it, what it refuses by field, and its egress host forms. */
class SidecarParserTest {
  @ParameterizedTest
  @ValueSource(strings = {"networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"})
  void aSidecarIsNamespacedWithSelectorEgressHostsAndMode(String apiVersion) throws Exception {
    Policy.Sidecar s = (Policy.Sidecar) PolicyParser.parse("s.yaml", """
        apiVersion: %s
        kind: Sidecar
        metadata: { name: ratings, namespace: shop }
        spec:
          workloadSelector: { labels: { app: ratings } }
          egress:
          - hosts: [ ./reviews, "istio-system/*", "*/*.example.com" ]
          - hosts: [ "~/*", prod/Payments.prod.svc.cluster.local ]
            port: { number: 9080, protocol: HTTP, name: http }
          outboundTrafficPolicy: { mode: REGISTRY_ONLY }
        """.formatted(apiVersion)).policies().getFirst();
    assertThat(s.meta().key()).isEqualTo("Sidecar/shop/ratings");
    assertThat(s.selector()).isEqualTo(Map.of("app", "ratings"));
    assertThat(s.egressHosts()).containsExactly(new Policy.EgressHost(".", "reviews"),
        new Policy.EgressHost("istio-system", "*"), new Policy.EgressHost("*", "*.example.com"),
        new Policy.EgressHost("~", "*", 9080), new Policy.EgressHost("prod", "payments.prod.svc.cluster.local", 9080));
    assertThat(s.outboundMode()).isEqualTo("REGISTRY_ONLY");

    Policy.Sidecar ns = (Policy.Sidecar) PolicyParser.parse("d.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: default }
        spec: { egress: [ { hosts: [ "./*" ] } ] }
        """).policies().getFirst();
    assertThat(ns.namespace()).isEqualTo("default");
    assertThat(ns.selector()).isNull();
    assertThat(ns.outboundMode()).isNull();
  }

  @Test
  void egressHostFormsAdmitByNamespaceAndName() {
    List<String> reviews = List.of("reviews", "reviews.default", "reviews.default.svc", "reviews.default.svc.cluster.local");
    assertThat(new Policy.EgressHost(".", "reviews").admits("default", "default", reviews)).isTrue();
    assertThat(new Policy.EgressHost(".", "reviews").admits("shop", "default", reviews)).as("another namespace").isFalse();
    assertThat(new Policy.EgressHost("default", "reviews.default.svc.cluster.local").admits("shop", "default", reviews))
        .isTrue();
    assertThat(new Policy.EgressHost("*", "*").admits("shop", "default", reviews)).isTrue();
    assertThat(new Policy.EgressHost("~", "*").admits("default", "default", reviews)).isFalse();
    assertThat(new Policy.EgressHost("*", "*.svc.cluster.local").admits("x", "default", reviews)).isTrue();
    assertThat(new Policy.EgressHost("*", "*.example.com").admits("x", "default", reviews)).isFalse();
    assertThat(new Policy.EgressHost("*", "*.example.com").admits("x", "default", List.of("api.example.com"))).isTrue();
    assertThat(new Policy.EgressHost("*", "*.example.com").admits("x", "default", List.of("example.com"))).isFalse();
    assertThat(new Policy.EgressHost(".", "ratings").admits("default", "default", reviews)).isFalse();
  }

  @Test
  void badHostsMissingEgressAndUnsupportedFieldsAreRefusedByFieldPath() {
    assertThatThrownBy(() -> PolicyParser.parse("bad.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: bad, namespace: shop }
        spec:
          workloadSelector: { labels: {} }
          ingress: [ { port: { number: 9080, protocol: HTTP, name: http }, defaultEndpoint: "127.0.0.1:8080" } ]
          egress:
          - hosts: [ reviews, "Bad_Ns/x", "./not a host", "./*.", "a/b/c" ]
          - port: { protocol: SOAP, name: http }
            bind: 127.0.0.1
            captureMode: NONE
            hosts: [ ./ok ]
          - hosts: []
          outboundTrafficPolicy: { mode: DENY, egressProxy: { host: proxy } }
        """))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("Sidecar/bad: spec.workloadSelector.labels: must name at least one label")
        .hasMessageContaining("spec.egress[0].hosts[0]: 'reviews' is not namespace/dnsName")
        .hasMessageContaining("spec.egress[0].hosts[1]: 'Bad_Ns' in 'Bad_Ns/x' is not a namespace")
        .hasMessageContaining("spec.egress[0].hosts[2]: 'not a host' in './not a host' is not a host")
        .hasMessageContaining("spec.egress[0].hosts[3]: '*.' in './*.' is not a host")
        .hasMessageContaining("spec.egress[0].hosts[4]: 'a/b/c' is not namespace/dnsName")
        .hasMessageContaining("spec.egress[1].port.number: is required")
        .hasMessageContaining("spec.egress[1].port.protocol: 'SOAP' is not a protocol")
        .hasMessageContaining("spec.egress[1].bind: bind is not supported")
        .hasMessageContaining("spec.egress[1].captureMode: captureMode is not supported")
        .hasMessageContaining("spec.egress[2].hosts: must")
        .hasMessageContaining("spec.outboundTrafficPolicy.mode: 'DENY' is not an outbound traffic policy")
        .hasMessageContaining("spec.outboundTrafficPolicy.egressProxy: egressProxy is not supported");
    assertThatThrownBy(() -> PolicyParser.parse("none.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: none }
        spec: { outboundTrafficPolicy: { mode: ALLOW_ANY } }
        """)).isInstanceOf(PolicyException.class).hasMessageContaining("Sidecar/none: spec.egress:");
    assertThatThrownBy(() -> PolicyParser.parse("empty.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: empty }
        spec: { egress: [] }
        """)).isInstanceOf(PolicyException.class).hasMessageContaining("Sidecar/empty: spec.egress:");
  }

  @Test
  void ingressDefaultEndpointsAreReadAndWhatKeelsonCannotDoIsRefusedByField() throws Exception {
    Policy.Sidecar s = (Policy.Sidecar) PolicyParser.parse("i.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: legacy, namespace: shop }
        spec:
          ingress:
          - { port: { number: 9080, protocol: HTTP, name: http }, defaultEndpoint: "127.0.0.1:8080" }
          - { port: { number: 7070, protocol: TCP, name: tcp }, defaultEndpoint: "0.0.0.0:7071" }
          egress: [ { hosts: [ "*/*" ] } ]
        """).policies().getFirst();
    assertThat(s.ingress()).containsExactly(new Policy.SidecarIngress(9080, "127.0.0.1", 8080),
        new Policy.SidecarIngress(7070, "0.0.0.0", 7071));
    assertThat(s.ingressFor(9080).loopback()).isTrue();
    assertThat(s.ingressFor(7070).loopback()).isFalse();
    assertThat(s.ingressFor(8000)).isNull();

    assertThatThrownBy(() -> PolicyParser.parse("bad.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: bad, namespace: shop }
        spec:
          ingress:
          - { port: { number: 9080 }, defaultEndpoint: "unix:///var/run/app.sock" }
          - { port: { number: 9081 }, defaultEndpoint: "10.1.2.3:9081" }
          - { port: { number: 9082 } }
          - { defaultEndpoint: "127.0.0.1:9083", bind: 0.0.0.0, captureMode: NONE, tls: { mode: SIMPLE } }
          - { port: { number: 9084 }, defaultEndpoint: "127.0.0.1:99999" }
          - { port: { number: 9085 }, defaultEndpoint: "127.0.0.1:1" }
          - { port: { number: 9085 }, defaultEndpoint: "127.0.0.1:2" }
          egress: [ { hosts: [ "*/*" ] } ]
        """))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("spec.ingress[0].defaultEndpoint: 'unix:///var/run/app.sock': unix domain sockets are not")
        .hasMessageContaining("spec.ingress[1].defaultEndpoint: '10.1.2.3:9081' is not 127.0.0.1:PORT or 0.0.0.0:PORT")
        .hasMessageContaining("spec.ingress[2].defaultEndpoint: is required")
        .hasMessageContaining("spec.ingress[3].port: is required")
        .hasMessageContaining("spec.ingress[3].bind: bind is not supported")
        .hasMessageContaining("spec.ingress[3].captureMode: captureMode is not supported")
        .hasMessageContaining("spec.ingress[3].tls: tls is not supported")
        .hasMessageContaining("spec.ingress[4].defaultEndpoint: '127.0.0.1:99999' is not")
        .hasMessageContaining("spec.ingress[6].port.number: 9085 is already another ingress entry's");
  }

  @Test
  void aSecondSidecarWithoutSelectorInANamespaceIsRefusedAtApply() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("a.yaml", """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: first, namespace: shop }
        spec: { egress: [ { hosts: [ "./*" ] } ] }
        """).policies(), false);
    String second = """
        apiVersion: networking.istio.io/v1
        kind: Sidecar
        metadata: { name: second, namespace: %s }
        spec: { %s egress: [ { hosts: [ "*/*" ] } ] }
        """;
    assertThatThrownBy(() -> store.apply(PolicyParser.parse("b.yaml", second.formatted("shop", "")).policies(), false))
        .isInstanceOf(PolicyException.class)
        .hasMessageContaining("b.yaml: Sidecar/shop/second: spec.workloadSelector: namespace 'shop' already has "
            + "Sidecar/shop/first without a workloadSelector; expected at most one per namespace");
    // With a selector, or in another namespace: accepted.
    store.apply(PolicyParser.parse("c.yaml", second.formatted("shop", "workloadSelector: { labels: { app: x } },"))
        .policies(), false);
    store.apply(PolicyParser.parse("d.yaml", second.formatted("other", "")).policies(), false);
    assertThat(store.current().ofType(Policy.Sidecar.class)).hasSize(3);
  }

  @Test
  void sidecarsSurviveARestartFromTheDataDirectory(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    PolicyStore first = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    first.apply(PolicyParser.parse("s.yaml", """
        apiVersion: networking.istio.io/v1beta1
        kind: Sidecar
        metadata: { name: scoped, namespace: shop }
        spec:
          workloadSelector: { labels: { app: frontend } }
          egress: [ { hosts: [ ./svc-a ] } ]
          outboundTrafficPolicy: { mode: REGISTRY_ONLY }
        """).policies(), false);
    PolicyStore again = new PolicyStore(new io.keelson.control.store.DataDir(dir));
    assertThat(again.current().find("Sidecar", "shop", "scoped")).singleElement()
        .isEqualTo(first.current().find("Sidecar", "shop", "scoped").getFirst());
  }
}
