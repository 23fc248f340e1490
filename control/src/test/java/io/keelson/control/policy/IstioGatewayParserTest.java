package io.keelson.control.policy;

import static io.keelson.control.policy.PolicyParserTest.errors;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.testing.TestCa;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/** Istio Gateway, the kubernetes.io/tls Secrets it names, and VirtualService gateways: fields kept, bad input refused. */
class IstioGatewayParserTest {
  static final String GATEWAY = """
      apiVersion: networking.istio.io/v1beta1
      kind: Gateway
      metadata: { name: ingress, namespace: istio-system }
      spec:
      """;

  static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void keepsSelectorServersHostsAndTls() throws Exception {
    var g = (Policy.Gateway) PolicyParser.parse("gw.yaml", GATEWAY + """
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 80, name: http, protocol: HTTP }
            hosts: [ shop.example.com, "*/any.example.com", "*.example.org" ]
            tls: { httpsRedirect: true }
          - port: { number: 443, name: https, protocol: https }
            hosts: [ "*" ]
            tls: { mode: MUTUAL, credentialName: shop-cert, minProtocolVersion: TLSV1_3 }
          - port: { number: 8080, name: h2, protocol: HTTP2 }
            hosts: [ "./h2.example.com" ]
        """).policies().getFirst();
    assertThat(g.namespace()).isEqualTo("istio-system");
    assertThat(g.ref()).isEqualTo("istio-system/ingress");
    assertThat(g.selector()).containsExactlyEntriesOf(java.util.Map.of("istio", "ingressgateway"));
    assertThat(g.servers()).extracting(Policy.Server::port).containsExactly(80, 443, 8080);
    Policy.Server http = g.servers().get(0);
    assertThat(http.hosts()).containsExactly("shop.example.com", "any.example.com", "*.example.org");
    assertThat(http.tls().httpsRedirect()).isTrue();
    assertThat(http.https()).isFalse();
    Policy.Server https = g.servers().get(1);
    assertThat(https.https()).isTrue();
    assertThat(https.tls()).isEqualTo(new Policy.ServerTls(false, "MUTUAL", "shop-cert", "TLSV1_3"));
    assertThat(g.servers().get(2).protocol()).isEqualTo("HTTP2");
    assertThat(g.servers().get(2).hosts()).containsExactly("h2.example.com");
  }

  @Test
  void refusesWhatItDoesNotActOnByFieldPath() {
    assertThat(errors(GATEWAY + """
          servers:
          - port: { number: 80, name: http, protocol: HTTP }
            hosts: [ "Not A Name", "a..b" ]
          - port: { number: 80, name: https, protocol: HTTPS }
            hosts: [ a.example.com ]
            tls: { mode: SIMPLE, credentialName: c }
          - port: { number: 443, name: tcp, protocol: TCP }
            hosts: [ a.example.com ]
            tls: { mode: PASSTHROUGH }
          - port: { number: 444, name: x, protocol: HTTPS }
            hosts: [ a.example.com ]
            tls: { mode: SIMPLE, minProtocolVersion: TLSV1_0, serverCertificate: /etc/cert.pem }
          - port: { number: 445, name: y, protocol: HTTPS }
            hosts: [ a.example.com ]
          - port: { number: 446, name: z, protocol: UDP }
            hosts: [ a.example.com ]
        """)).containsExactlyInAnyOrder(
        "bad.yaml: Gateway/ingress: spec.selector: is required; expected the labels of the gateway"
            + " proxies (bin/keelson proxy --gateway --labels istio=ingressgateway), e.g. {istio: ingressgateway}",
        "bad.yaml: Gateway/ingress: spec.servers[0].hosts: hosts[0] 'Not A Name' is not a DNS name;"
            + " expected a name such as shop.example.com, a wildcard *.example.com, or *",
        "bad.yaml: Gateway/ingress: spec.servers[0].hosts: hosts[1] 'a..b' is not a DNS name; expected a"
            + " name such as shop.example.com, a wildcard *.example.com, or *",
        "bad.yaml: Gateway/ingress: spec.servers[1].port: port 80 is bound to HTTP by another server of"
            + " this Gateway and to HTTPS here; expected one protocol per port (HTTP, HTTP2 and GRPC-WEB may share; so may HTTPS and TLS, by SNI)",
        "bad.yaml: Gateway/ingress: spec.servers[2].tls.mode: PASSTHROUGH needs port.protocol TLS",
        "bad.yaml: Gateway/ingress: spec.servers[2].tls: a TCP server takes no tls",
        "bad.yaml: Gateway/ingress: spec.servers[3].tls.serverCertificate: certificate files on the"
            + " gateway are not supported; expected credentialName (a Secret)",
        "bad.yaml: Gateway/ingress: spec.servers[3].tls.credentialName: is required with mode SIMPLE;"
            + " expected the name of a Secret of type kubernetes.io/tls (apiVersion: v1, kind: Secret)",
        "bad.yaml: Gateway/ingress: spec.servers[3].tls.minProtocolVersion: 'TLSV1_0' is not supported;"
            + " expected TLSV1_2 or TLSV1_3 (TLS 1.0 and 1.1 are not offered)",
        "bad.yaml: Gateway/ingress: spec.servers[4].tls: is required for an HTTPS server; expected"
            + " {mode: SIMPLE, credentialName: SECRET}",
        "bad.yaml: Gateway/ingress: spec.servers[5].port.protocol: 'UDP' is not a gateway server"
            + " protocol; expected HTTP, HTTP2, GRPC-WEB, HTTPS, TLS or TCP");
  }

  @Test
  void tlsServersTerminateWithSimpleMutualOrIstioMutualWhichTakesNoCredential() throws Exception {
    var g = (Policy.Gateway) PolicyParser.parse("gw.yaml", GATEWAY + """
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 9443, name: tls-simple, protocol: TLS }
            hosts: [ "*" ]
            tls: { mode: SIMPLE, credentialName: edge-cert }
          - port: { number: 15443, name: tls-mesh, protocol: TLS }
            hosts: [ "*" ]
            tls: { mode: ISTIO_MUTUAL }
          - port: { number: 443, name: https-mesh, protocol: HTTPS }
            hosts: [ "*" ]
            tls: { mode: ISTIO_MUTUAL }
        """).policies().getFirst();
    assertThat(g.servers()).extracting(s -> s.tls().mode()).containsExactly("SIMPLE", "ISTIO_MUTUAL", "ISTIO_MUTUAL");
    assertThat(g.servers().get(1).tls().istioMutual()).isTrue();
    assertThat(g.servers().get(1).tls().credentialName()).isNull();
    assertThat(errors(GATEWAY + """
          selector: { istio: ingressgateway }
          servers:
          - port: { number: 15443, name: tls-mesh, protocol: TLS }
            hosts: [ "*" ]
            tls: { mode: ISTIO_MUTUAL, credentialName: edge-cert }
          - port: { number: 9443, name: tls, protocol: TLS }
            hosts: [ "*" ]
            tls: { mode: MUTUAL }
        """)).containsExactlyInAnyOrder(
        "bad.yaml: Gateway/ingress: spec.servers[0].tls.credentialName: is not used with mode ISTIO_MUTUAL (the"
            + " gateway presents its own mesh certificate and requires a mesh client certificate); expected no"
            + " credentialName, or mode SIMPLE/MUTUAL",
        "bad.yaml: Gateway/ingress: spec.servers[1].tls.credentialName: is required with mode MUTUAL; expected the"
            + " name of a Secret of type kubernetes.io/tls (apiVersion: v1, kind: Secret)");
  }

  @Test
  void readsAKubernetesTlsSecretAndShowsItRedacted() throws Exception {
    TestCa ca = new TestCa("ca");
    TestCa.Leaf leaf = ca.issue("shop.example.com", "shop.example.com");
    var s = (Policy.Secret) PolicyParser.parse("secret.yaml", """
        apiVersion: v1
        kind: Secret
        metadata: { name: shop-cert, namespace: istio-system }
        type: kubernetes.io/tls
        data:
          tls.crt: %s
          tls.key: %s
          ca.crt: %s
        """.formatted(b64(leaf.certPem()), b64(leaf.keyPem()), b64(ca.certPem()))).policies().getFirst();
    assertThat(s.namespace()).isEqualTo("istio-system");
    assertThat(s.certChain()).isEqualTo(leaf.certPem());
    assertThat(s.privateKey()).isEqualTo(leaf.keyPem());
    assertThat(s.caCert()).isEqualTo(ca.certPem());
    String keyBody = leaf.keyPem().lines().skip(1).findFirst().orElseThrow();
    assertThat(s.redacted()).contains("tls.key: '<redacted>'").doesNotContain(keyBody).doesNotContain(b64(leaf.keyPem()));
    assertThat(s.toString()).doesNotContain(keyBody);
  }

  @Test
  void refusesSecretsThatAreNotTlsPem() throws Exception {
    assertThat(errors("""
        apiVersion: v1
        kind: Secret
        metadata: { name: bad }
        type: kubernetes.io/dockerconfigjson
        data:
          tls.crt: "!!notbase64"
          tls.key: %s
        """.formatted(b64("just text")))).containsExactlyInAnyOrder(
        "bad.yaml: Secret/bad: type: 'kubernetes.io/dockerconfigjson' is not supported; expected"
            + " kubernetes.io/tls",
        "bad.yaml: Secret/bad: data.tls.crt: is not base64 (Illegal base64 character 21); expected base64 of"
            + " PEM text, as kubectl writes it",
        "bad.yaml: Secret/bad: data.tls.key: is not PEM (PRIVATE KEY); expected base64 of PEM text beginning"
            + " '-----BEGIN [RSA |EC ]PRIVATE KEY-----'");
    TestCa ca = new TestCa("ca");
    TestCa.Leaf one = ca.issue("one.example.com", "one.example.com");
    TestCa.Leaf two = ca.issue("two.example.com", "two.example.com");
    assertThat(errors("""
        apiVersion: v1
        kind: Secret
        metadata: { name: mismatch, namespace: istio-system }
        type: kubernetes.io/tls
        data: { tls.crt: %s, tls.key: %s }
        """.formatted(b64(one.certPem()), b64(two.keyPem())))).containsExactly("bad.yaml: Secret/mismatch: data.tls.key:"
        + " is not the key of tls.crt's first certificate; expected the private key the certificate was issued for");
    assertThat(errors("""
        apiVersion: v1
        kind: ConfigMap
        metadata: { name: x }
        data: {}
        """)).containsExactly("bad.yaml: ConfigMap/x: kind: 'ConfigMap' is not a kind of v1; expected one of Secret, Namespace");
  }

  @Test
  void virtualServiceGatewaysAndTheirExternalHosts() throws Exception {
    var vs = (Policy.Routes) PolicyParser.parse("vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: shop }
        spec:
          hosts: [ shop.example.com, "*.shop.example.com", "*" ]
          gateways: [ ingress, istio-system/edge ]
          http: [ { route: [ { destination: { host: product-service } } ] } ]
        """).policies().getFirst();
    assertThat(vs.gateways()).containsExactly("default/ingress", "istio-system/edge");
    assertThat(vs.forMesh()).isFalse();
    assertThat(vs.services()).containsExactly("shop.example.com", "*.shop.example.com", "*");
    var both = (Policy.Routes) PolicyParser.parse("vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: both }
        spec:
          hosts: [ product-service.default.svc.cluster.local ]
          gateways: [ mesh, ingress ]
          http: [ { route: [ { destination: { host: product-service } } ] } ]
        """).policies().getFirst();
    assertThat(both.forMesh()).isTrue();
    assertThat(both.services()).containsExactly("product-service");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: bad }
        spec:
          hosts: [ "*.example.com", "bad host" ]
          gateways: [ mesh, "Bad/Name/x" ]
          http: [ { route: [ { destination: { host: product-service } } ] } ]
        """)).containsExactlyInAnyOrder(
        "bad.yaml: VirtualService/bad: spec.gateways: gateways[1] 'Bad/Name/x' is not a gateway name; expected mesh,"
            + " NAME or NAMESPACE/NAME of a Gateway",
        "bad.yaml: VirtualService/bad: spec.hosts: wildcard host '*.example.com' is not supported yet for sidecars"
            + " ('mesh'); expected service names (wildcards are for gateways: list only gateways in spec.gateways)");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: bad }
        spec:
          hosts: [ "bad host" ]
          gateways: [ ingress ]
          http: [ { route: [ { destination: { host: product-service } } ] } ]
        """)).containsExactly("bad.yaml: VirtualService/bad: spec.hosts: hosts[0] 'bad host' is not a DNS name;"
            + " expected a name such as shop.example.com, a wildcard *.example.com, or *");
  }
}
