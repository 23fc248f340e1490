package io.keelson.control.cli;

import static io.keelson.control.cli.CliRun.cli;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.control.cli.CliRun.Result;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code keelson token create|list|revoke} and {@code keelson ca-root} against an in-process control plane. */
class SecurityCommandsTest {
  @TempDir
  Path dir;



  @Test
  void tokensAreCreatedListedAndRevokedFromTheCli() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, dir, 15001,
        CaOptions.selfSigned(dir), -1))) {
      String server = "http://127.0.0.1:" + cp.api.port();
      Result created = cli("token", "create", "--namespace", "shop", "--service-account", "web", "--ttl", "1h",
          "--server", server);
      assertThat(created.code()).as(created.err()).isZero();
      String token = created.out().trim();
      assertThat(token).startsWith("kjt.");
      assertThat(created.err()).contains("spiffe://cluster.local/ns/shop/sa/web");
      assertThat(cp.security.tokens().verify(token)).isPresent();

      String id = token.split("\\.")[1];
      Result list = cli("token", "list", "--server", server);
      assertThat(list.out()).contains(id, "shop", "web").doesNotContain(token);

      assertThat(cli("token", "revoke", id, "--server", server).code()).isZero();
      assertThat(cp.security.tokens().verify(token)).isEmpty();
      assertThat(cli("token", "revoke", id, "--server", server).err()).contains("no token with id " + id);

      assertThat(cli("ca-root", "--server", server).out()).startsWith("-----BEGIN CERTIFICATE-----");
      assertThat(cli("token", "create", "--namespace", "shop", "--server", server).code()).isEqualTo(2);
      assertThat(cli("token", "create", "--namespace", "a/b", "--service-account", "x", "--server", server).err())
          .contains("namespace 'a/b'");
    }
  }

  @Test
  void authzShowsWhatAWorkloadsPoliciesResolveTo() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
        CaOptions.selfSigned(null), -1))) {
      cp.store.apply(io.keelson.control.policy.PolicyParser.parse("sec.yaml", """
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: viewer, namespace: shop }
          spec:
            selector: { matchLabels: { app: product } }
            rules: [ { to: [ { operation: { methods: [ GET ] } } ] } ]
          ---
          apiVersion: security.istio.io/v1
          kind: PeerAuthentication
          metadata: { name: strict, namespace: istio-system }
          spec: { mtls: { mode: STRICT } }
          ---
          apiVersion: security.istio.io/v1
          kind: RequestAuthentication
          metadata: { name: idp, namespace: shop }
          spec:
            selector: { matchLabels: { app: product } }
            jwtRules: [ { issuer: "https://idp.example", jwksUri: "https://idp.example/keys" } ]
          """).policies(), false);
      String server = "http://127.0.0.1:" + cp.api.port();
      Result r = cli("authz", "--namespace", "shop", "--labels", "app=product,version=v1", "--server", server);
      assertThat(r.code()).as(r.err()).isZero();
      assertThat(r.out()).contains("\"mtlsMode\" : \"STRICT\"", "ns[shop]-policy[viewer]-rule[0]", "\"deny\" : null",
          "\"issuer\" : \"https://idp.example\"", "\"uri\" : \"https://idp.example/keys\"");
      Result other = cli("authz", "--namespace", "shop", "--labels", "app=cart", "--server", server);
      assertThat(other.out()).contains("\"allow\" : null", "\"jwtAuthn\" : null");
    }
  }

  @Test
  void authzShowsTheTcpVariantWhereHttpOnlyAllowRulesCannotMatch() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
        CaOptions.selfSigned(null), -1))) {
      cp.store.apply(io.keelson.control.policy.PolicyParser.parse("sec.yaml", """
          apiVersion: security.istio.io/v1
          kind: AuthorizationPolicy
          metadata: { name: viewer, namespace: shop }
          spec:
            rules: [ { to: [ { operation: { methods: [ GET ] } } ] } ]
          """).policies(), false);
      Result r = cli("authz", "--namespace", "shop", "--server", "http://127.0.0.1:" + cp.api.port());
      assertThat(r.code()).as(r.err()).isZero();
      var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
      assertThat(json.path("allow").path("policies").size()).isEqualTo(1);
      // On TCP the methods-only rule cannot match: an ALLOW engine with no policy (deny everything).
      assertThat(json.path("tcpAllow").isObject()).isTrue();
      assertThat(json.path("tcpAllow").path("policies").isMissingNode()).isTrue();
      assertThat(json.path("tcpDeny").isNull()).isTrue();
    }
  }

  @Test
  void theControlPlaneRefusesToStartWithABrokenOperatorCa() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ControlPlane.start(new ControlPlane.Options("127.0.0.1",
            0, 0, null, null, 15001, new CaOptions("cluster.local", java.time.Duration.ofHours(1),
            dir.resolve("missing.pem"), dir.resolve("missing-key.pem"), null, null), 0)))
        .isInstanceOf(java.io.IOException.class).hasMessageContaining("missing.pem");
  }
}
