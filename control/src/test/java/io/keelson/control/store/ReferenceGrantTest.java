package io.keelson.control.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.testing.TestCa;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ReferenceGrant: a Gateway's certificateRefs into another namespace are refused without a grant there, accepted with
 * one, and deleting a grant still in use is refused; grants persist in the data directory. A route's backendRefs to a
 * registry Service of another namespace need a grant there too.
 */
class ReferenceGrantTest {
  static final String SERVICE = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: api }
      spec: { ports: [ { name: http, port: 80 } ] }
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: Gateway
      metadata: { name: web }
      spec:
        gatewayClassName: keelson
        listeners: [ { name: http, port: 8080, protocol: HTTP } ]
      ---
      apiVersion: gateway.networking.k8s.io/v1
      kind: HTTPRoute
      metadata: { name: shop }
      spec:
        parentRefs: [ { name: web } ]
        rules: [ { backendRefs: [ { name: api, namespace: backend, port: 80 } ] } ]
      """;

  static final String GRANT = """
      ---
      apiVersion: gateway.networking.k8s.io/v1beta1
      kind: ReferenceGrant
      metadata: { name: routes-to-api, namespace: backend }
      spec:
        from: [ { group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default } ]
        to: [ { group: "", kind: Service, name: api } ]
      """;

  static PolicyStore apply(PolicyStore store, String yaml) throws Exception {
    store.apply(PolicyParser.parse("refs.yaml", yaml).policies(), false);
    return store;
  }

  static final String BACKEND_API = """
      ---
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: api, namespace: backend }
      spec: { ports: [ { name: http, port: 80 } ] }
      """;

  @Test
  void aBackendRefToAServiceOfAnotherNamespaceNeedsAGrantThere() throws Exception {
    assertThatThrownBy(() -> apply(new PolicyStore(), SERVICE + BACKEND_API))
        .hasMessageContaining("HTTPRoute/shop: spec.rules[0].backendRefs[0].namespace: Service backend/api is in another"
            + " namespace than this HTTPRoute (default) and no ReferenceGrant in namespace backend permits it");
    assertThatThrownBy(() -> apply(new PolicyStore(), SERVICE + BACKEND_API + GRANT.replace("name: api", "name: other")))
        .as("a grant for another name").hasMessageContaining("no ReferenceGrant in namespace backend permits it");
    assertThatThrownBy(() -> apply(new PolicyStore(), SERVICE.replace("rules: [ { backendRefs: [ { name: api, namespace:"
        + " backend, port: 80 } ] } ]", "rules: [ { backendRefs: [ { name: api, port: 80 } ], filters: [ { type:"
        + " RequestMirror, requestMirror: { backendRef: { name: api, namespace: backend, port: 80 } } } ] } ]")
        + BACKEND_API)).hasMessageContaining("HTTPRoute/shop: spec.rules[0].filters[RequestMirror].backendRef.namespace:"
        + " Service backend/api is in another namespace");
    PolicyStore store = apply(new PolicyStore(), SERVICE + BACKEND_API + GRANT);
    Policy.Routes route = store.current().ofType(Policy.Routes.class).getFirst();
    assertThat(route.rules().getFirst().backends().getFirst().service()).as("namespace backend's, not default's")
        .isEqualTo("api.backend");
    assertThatThrownBy(() -> store.delete("ReferenceGrant", "backend", "routes-to-api", false))
        .hasMessageContaining("no ReferenceGrant in namespace backend permits it");
    assertThatThrownBy(() -> apply(new PolicyStore(), SERVICE.replace("namespace: backend, ", "namespace: nowhere, ")))
        .hasMessageContaining("spec.rules[0].backendRefs[0].name: no Service 'api.nowhere' is registered");
  }

  @Test
  void theRoutesOwnNamespaceOrNoneIsTheMeshWideService() throws Exception {
    PolicyStore store = apply(new PolicyStore(), SERVICE.replace("namespace: backend, ", "namespace: default, "));
    assertThat(store.current().ofType(Policy.Routes.class)).hasSize(1);
    apply(store, SERVICE.replace("namespace: backend, ", ""));
  }

  @Test
  void aCertificateRefToAnotherNamespaceNeedsAGrantAndGrantsSurviveARestart(@TempDir Path dir) throws Exception {
    TestCa ca = new TestCa("ca");
    TestCa.Leaf leaf = ca.issue("secure.example.com", "secure.example.com");
    String yaml = """
        apiVersion: v1
        kind: Secret
        metadata: { name: web-cert, namespace: certs }
        type: kubernetes.io/tls
        data: { tls.crt: %s, tls.key: %s }
        ---
        apiVersion: gateway.networking.k8s.io/v1
        kind: Gateway
        metadata: { name: web, namespace: edge }
        spec:
          gatewayClassName: keelson
          listeners:
          - name: https
            port: 8443
            protocol: HTTPS
            tls: { certificateRefs: [ { name: web-cert, namespace: certs } ] }
        """.formatted(b64(leaf.certPem()), b64(leaf.keyPem()));
    assertThatThrownBy(() -> apply(new PolicyStore(), yaml))
        .hasMessageContaining("Gateway/edge/web: spec.listeners[0].tls.certificateRefs[0].namespace: Secret"
            + " certs/web-cert is in another namespace than this Gateway (edge) and no ReferenceGrant in namespace certs"
            + " permits it");
    String grant = """
        ---
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: ReferenceGrant
        metadata: { name: gateways, namespace: certs }
        spec:
          from: [ { group: gateway.networking.k8s.io, kind: Gateway, namespace: edge } ]
          to: [ { group: "", kind: Secret } ]
        """;
    PolicyStore first = apply(new PolicyStore(new DataDir(dir)), yaml + grant);
    Policy.Gateway g = first.current().ofType(Policy.Gateway.class).getFirst();
    assertThat(first.current().secret(g.namespace(), g.servers().getFirst().tls().credentialName()))
        .as("the Secret of the other namespace").isNotNull();
    PolicyStore again = new PolicyStore(new DataDir(dir));
    assertThat(again.current().ofType(Policy.ReferenceGrant.class)).extracting(p -> p.meta().key())
        .containsExactly("ReferenceGrant/certs/gateways");
    assertThatThrownBy(() -> again.delete("ReferenceGrant", "certs", "gateways", false))
        .hasMessageContaining("would break if ReferenceGrant/certs/gateways were deleted");
  }

  @Test
  void refusesGrantsItCannotActOn() {
    assertThatThrownBy(() -> PolicyParser.parse("bad.yaml", """
        apiVersion: gateway.networking.k8s.io/v1beta1
        kind: ReferenceGrant
        metadata: { name: g, namespace: backend }
        spec:
          from: [ { group: apps, kind: Deployment, namespace: default } ]
          to: [ { group: example.io, kind: ConfigMap } ]
        """)).hasMessageContaining("spec.from[0].group: 'apps' is not a group Keelson reads references from")
        .hasMessageContaining("spec.from[0].kind: 'Deployment' does not refer across namespaces in Keelson")
        .hasMessageContaining("spec.to[0].group: 'example.io': Keelson follows references to core objects only")
        .hasMessageContaining("spec.to[0].kind: 'ConfigMap' is not a kind a reference can name; expected Service or"
            + " Secret");
  }

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
  }
}
