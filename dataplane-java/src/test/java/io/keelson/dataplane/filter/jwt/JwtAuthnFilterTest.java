package io.keelson.dataplane.filter.jwt;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.route.TestRequest;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.testing.TestJwts;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The jwt_authn filter's decisions with an injected clock: signatures, times, issuer, audiences, requirements. */
class JwtAuthnFilterTest {
  static final TestJwts KEYS = new TestJwts();
  static final long NOW = System.currentTimeMillis() / 1000;
  final List<String> errors = new ArrayList<>();
  final ConfigErrors sink = new ConfigErrors() {
    @Override
    public void error(String path, String message) {
      errors.add(path + ": " + message);
    }

    @Override
    public void warn(String path, String message) {
    }
  };

  /** Istio's shape: one provider, requires_any [provider, allow_missing]. */
  static String istioConfig(String jwks) {
    return """
        { "providers": { "origins-0": {
            "issuer": "https://issuer.example", "audiences": ["svc.example"],
            "local_jwks": { "inline_string": %s },
            "payload_in_metadata": "https://issuer.example", "forward_payload_header": "x-jwt-payload" } },
          "rules": [ { "match": { "prefix": "/" }, "requires": { "requires_any": { "requirements": [
              { "provider_name": "origins-0" }, { "allow_missing": {} } ] } } } ] }
        """.formatted(quote(jwks));
  }

  static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  HttpFilter filter(String json, long nowSeconds) throws Exception {
    JwtAuthentication.Builder b = JwtAuthentication.newBuilder();
    JsonFormat.parser().merge(json, b);
    JwtAuthnFactory f = new JwtAuthnFactory(Clock.fixed(Instant.ofEpochSecond(nowSeconds), ZoneOffset.UTC));
    Object settings = f.translate(b.build(), "typed_config", sink);
    assertThat(errors).isEmpty();
    return f.create(settings, FilterResources.of(new StatsRegistry(), "test"));
  }

  static FilterContext run(HttpFilter f, TestRequest head) {
    FilterContext c = new FilterContext();
    c.clear();
    c.head = head;
    f.onRequest(c);
    return c;
  }

  static TestRequest bearer(String token) {
    return TestRequest.request("GET", "/api?x=1", "svc.example").header("authorization", "Bearer " + token);
  }

  @Test
  void rs256AndEs256TokensSignedByTheJwksVerifyAndBecomeTheRequestPrincipal() throws Exception {
    HttpFilter f = filter(istioConfig(KEYS.jwks()), NOW);
    for (String token : List.of(
        KEYS.rs256(TestJwts.claims("https://issuer.example", "alice", "svc.example", "groups", List.of("admin"))),
        KEYS.es256(TestJwts.claims("https://issuer.example", "alice", "svc.example", "groups", List.of("admin"))))) {
      FilterContext c = run(f, bearer(token));
      assertThat(c.hasLocalReply()).as(token).isFalse();
      assertThat(c.metadata.value("istio_authn", new String[] {"request.auth.principal"}))
          .isEqualTo("https://issuer.example/alice");
      assertThat(c.metadata.value("istio_authn", new String[] {"request.auth.claims", "groups"})).isEqualTo(List.of("admin"));
      assertThat(c.metadata.value("istio_authn", new String[] {"request.auth.claims", "sub"})).isEqualTo(List.of("alice"));
      assertThat(c.metadata.value(JwtAuthnFactory.FILTER_NAME, new String[] {"https://issuer.example", "sub"}))
          .isEqualTo("alice");
      // forward: false (default) removes the token; the payload goes upstream in forward_payload_header.
      assertThat(c.requestHeaders().remove()).containsExactly("authorization");
      assertThat(c.requestHeaders().add()).singleElement().satisfies(h -> {
        assertThat(h.name()).isEqualTo("x-jwt-payload");
        assertThat(token).contains("." + h.value() + ".");
      });
    }
  }

  @Test
  void aMissingTokenPassesWithoutMetadataUnderAllowMissing() throws Exception {
    FilterContext c = run(filter(istioConfig(KEYS.jwks()), NOW), TestRequest.get("/api"));
    assertThat(c.hasLocalReply()).isFalse();
    assertThat(c.metadata).isNull();
    assertThat(c.requestHeaders()).isNull();
  }

  @Test
  void invalidTokensAre401WithEnvoysMessageAndWwwAuthenticate() throws Exception {
    HttpFilter f = filter(istioConfig(KEYS.jwks()), NOW);
    Map<String, String> cases = new java.util.LinkedHashMap<>();
    var expired = TestJwts.claims("https://issuer.example", "alice", "svc.example");
    expired.put("exp", NOW - 120); // beyond the default 60 s clock skew
    cases.put(KEYS.rs256(expired), "Jwt is expired");
    var early = TestJwts.claims("https://issuer.example", "alice", "svc.example");
    early.put("nbf", NOW + 600);
    cases.put(KEYS.es256(early), "Jwt not yet valid");
    cases.put(KEYS.rs256(TestJwts.claims("https://other.example", "alice", "svc.example")), "Jwt issuer is not configured");
    cases.put(KEYS.rs256SignedBy(new TestJwts().rsa, TestJwts.claims("https://issuer.example", "alice", "svc.example")),
        "Jwt verification fails");
    String good = KEYS.es256(TestJwts.claims("https://issuer.example", "alice", "svc.example"));
    cases.put(good.substring(0, good.length() - 4) + "AAAA", "Jwt verification fails");
    cases.put("not-a-jwt", "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections");
    cases.put("eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "Jwt header [alg] is not supported"); // HS256
    for (var e : cases.entrySet()) {
      FilterContext c = run(f, bearer(e.getKey()));
      assertThat(c.status()).as(e.getValue()).isEqualTo(401);
      assertThat(c.body()).isEqualTo(e.getValue());
      assertThat(c.replyHeaders()).isEqualTo(
          "www-authenticate: Bearer realm=\"http://svc.example/api\", error=\"invalid_token\"\r\n");
      assertThat(c.metadata).isNull();
    }
  }

  @Test
  void aTokenForAnotherAudienceIs403AsInEnvoy() throws Exception {
    FilterContext c = run(filter(istioConfig(KEYS.jwks()), NOW),
        bearer(KEYS.rs256(TestJwts.claims("https://issuer.example", "alice", "other.example"))));
    assertThat(c.status()).isEqualTo(403);
    assertThat(c.body()).isEqualTo("Audiences in Jwt are not allowed");
  }

  @Test
  void expiryIsCheckedAgainstTheInjectedClockWithTheConfiguredSkew() throws Exception {
    var claims = TestJwts.claims("https://issuer.example", "alice", "svc.example");
    claims.put("exp", 1_000_000L);
    String token = KEYS.rs256(claims);
    String config = istioConfig(KEYS.jwks()).replace("\"payload_in_metadata\"", "\"clock_skew_seconds\": 5, \"payload_in_metadata\"");
    assertThat(run(filter(config, 1_000_005L), bearer(token)).hasLocalReply()).isFalse();
    assertThat(run(filter(config, 1_000_006L), bearer(token)).body()).isEqualTo("Jwt is expired");
  }

  @Test
  void aRepeatedTokenSkipsTheSignatureCheckButNotTheClock() throws Exception {
    long[] now = {1_000_000L};
    Clock clock = new Clock() {
      @Override
      public java.time.ZoneId getZone() {
        return ZoneOffset.UTC;
      }

      @Override
      public Clock withZone(java.time.ZoneId zone) {
        return this;
      }

      @Override
      public Instant instant() {
        return Instant.ofEpochSecond(now[0]);
      }
    };
    JwtAuthentication.Builder b = JwtAuthentication.newBuilder();
    JsonFormat.parser().merge(istioConfig(KEYS.jwks()), b);
    JwtAuthnFactory f = new JwtAuthnFactory(clock);
    JwtAuthnConfig config = (JwtAuthnConfig) f.translate(b.build(), "typed_config", sink);
    HttpFilter filter = f.create(config, FilterResources.of(new StatsRegistry(), "test"));
    var claims = TestJwts.claims("https://issuer.example", "alice", "svc.example");
    claims.put("exp", 1_000_100L);
    String token = KEYS.es256(claims);
    assertThat(run(filter, bearer(token)).hasLocalReply()).isFalse();
    assertThat(config.providers()[0].verified().size()).isEqualTo(1);
    FilterContext again = run(filter, bearer(token));
    assertThat(again.hasLocalReply()).isFalse();
    assertThat(again.metadata.value("istio_authn", new String[] {"request.auth.principal"}))
        .isEqualTo("https://issuer.example/alice");
    now[0] = 1_000_161L;
    assertThat(run(filter, bearer(token)).body()).isEqualTo("Jwt is expired");
    // The same claims with a corrupted signature are not taken from the cache.
    now[0] = 1_000_000L;
    assertThat(run(filter, bearer(token.substring(0, token.length() - 4) + "AAAA")).body())
        .isEqualTo("Jwt verification fails");
  }

  @Test
  void aRequiredProviderRejectsAMissingTokenWithoutInvalidTokenError() throws Exception {
    String config = """
        { "providers": { "p": { "issuer": "https://issuer.example", "local_jwks": { "inline_string": %s },
            "forward": true, "from_headers": [ { "name": "x-token" } ] } },
          "rules": [ { "match": { "prefix": "/public" } },
                     { "match": { "prefix": "/" }, "requires": { "provider_name": "p" } } ] }
        """.formatted(quote(KEYS.jwks()));
    HttpFilter f = filter(config, NOW);
    FilterContext missing = run(f, TestRequest.get("/private"));
    assertThat(missing.status()).isEqualTo(401);
    assertThat(missing.body()).isEqualTo("Jwt is missing");
    assertThat(missing.replyHeaders()).doesNotContain("invalid_token");
    assertThat(run(f, TestRequest.get("/public")).hasLocalReply()).isFalse();
    FilterContext ok = run(f, TestRequest.get("/private").header("x-token",
        KEYS.rs256(TestJwts.claims("https://issuer.example", "bob", null))));
    assertThat(ok.hasLocalReply()).isFalse();
    assertThat(ok.requestHeaders()).isNull(); // forward: true keeps the token, no payload header
  }

  @Test
  void badConfigIsRejectedNamingTheField() throws Exception {
    JwtAuthentication.Builder b = JwtAuthentication.newBuilder();
    JsonFormat.parser().merge("""
        { "providers": { "p": { "local_jwks": { "inline_string": "{\\"keys\\": []}" } },
                         "r": { "remote_jwks": { "http_uri": { "uri": "ftp://x", "cluster": "c" } } } },
          "rules": [ { "match": { "prefix": "/" }, "requires": { "provider_name": "nope" } } ] }
        """, b);
    assertThat(new JwtAuthnFactory().translate(b.build(), "f", sink)).isNull();
    assertThat(errors).anyMatch(e -> e.startsWith("f.providers[\"p\"].local_jwks: not a usable JWKS"))
        .anyMatch(e -> e.startsWith("f.providers[\"r\"].remote_jwks.http_uri.uri: 'ftp://x' is not an http(s) URI"))
        .anyMatch(e -> e.startsWith("f.rules[0].requires.provider_name: provider 'nope' is not defined"));
  }
}
