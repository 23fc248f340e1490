package io.keelson.bench.jmh;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.jwt.JwtAuthnFactory;
import io.keelson.dataplane.stats.StatsRegistry;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

/**
 * The jwt_authn filter's cost per request, Istio's configuration (one provider, any-or-missing):
 * {@code none} (no token: extraction only), {@code cached-*} (the same token every request: the
 * verified-signature cache answers, claims still checked) and {@code cold-*} (a different token each
 * request, more than the cache holds: parse plus a JDK signature check, RS256 2048-bit or ES256 P-256).
 */
public class JwtAuthnBenchmark extends BenchmarkBase {
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
  private static final int COLD_TOKENS = 8192; // twice the cache's size: every request misses

  @Param({"none", "cached-rs256", "cached-es256", "cold-rs256", "cold-es256"})
  String token;

  private HttpFilter filter;
  private final FilterContext context = new FilterContext();
  private BenchRequest[] requests;
  private int next;

  @Setup
  public void setUp() throws Exception {
    KeyPairGenerator r = KeyPairGenerator.getInstance("RSA");
    r.initialize(2048);
    KeyPair rsa = r.generateKeyPair();
    KeyPairGenerator e = KeyPairGenerator.getInstance("EC");
    e.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair ec = e.generateKeyPair();
    ObjectMapper json = new ObjectMapper();
    RSAPublicKey rp = (RSAPublicKey) rsa.getPublic();
    ECPublicKey ep = (ECPublicKey) ec.getPublic();
    String jwks = json.writeValueAsString(Map.of("keys", List.of(
        Map.of("kty", "RSA", "kid", "r", "n", b64(rp.getModulus(), 0), "e", b64(rp.getPublicExponent(), 0)),
        Map.of("kty", "EC", "kid", "e", "crv", "P-256", "x", b64(ep.getW().getAffineX(), 32),
            "y", b64(ep.getW().getAffineY(), 32)))));
    JwtAuthentication.Builder b = JwtAuthentication.newBuilder();
    JsonFormat.parser().merge("""
        { "providers": { "origins-0": { "issuer": "https://idp.example", "audiences": ["svc"],
            "local_jwks": { "inline_string": %s }, "payload_in_metadata": "https://idp.example" } },
          "rules": [ { "match": { "prefix": "/" }, "requires": { "requires_any": { "requirements": [
              { "provider_name": "origins-0" }, { "allow_missing": {} } ] } } } ] }
        """.formatted(json.writeValueAsString(jwks)), b);
    JwtAuthnFactory f = new JwtAuthnFactory();
    Object settings = f.translate(b.build(), "bench", new ConfigErrors() {
      @Override
      public void error(String path, String message) {
        throw new IllegalStateException(path + ": " + message);
      }

      @Override
      public void warn(String path, String message) {
      }
    });
    filter = f.create(settings, FilterResources.of(new StatsRegistry(), "bench"));
    int n = token.startsWith("cold") ? COLD_TOKENS : 1;
    requests = new BenchRequest[n];
    boolean es = token.endsWith("es256");
    for (int i = 0; i < n; i++) {
      String claims = json.writeValueAsString(Map.of("iss", "https://idp.example", "sub", "user-" + i, "aud", "svc",
          "exp", System.currentTimeMillis() / 1000 + 86_400));
      String t = token.equals("none") ? null : es ? sign("ES256", "e", "SHA256withECDSAinP1363Format", ec, claims)
          : sign("RS256", "r", "SHA256withRSA", rsa, claims);
      requests[i] = new BenchRequest("GET", "/api/items", null, "svc", "authorization", t == null ? null : "Bearer " + t);
    }
  }

  private static String sign(String alg, String kid, String javaAlg, KeyPair keys, String claims) throws Exception {
    String input = B64.encodeToString(("{\"alg\":\"" + alg + "\",\"kid\":\"" + kid + "\"}").getBytes(StandardCharsets.UTF_8))
        + "." + B64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
    Signature s = Signature.getInstance(javaAlg);
    s.initSign(keys.getPrivate());
    s.update(input.getBytes(StandardCharsets.US_ASCII));
    return input + "." + B64.encodeToString(s.sign());
  }

  private static String b64(BigInteger v, int length) {
    byte[] b = v.toByteArray();
    if (b.length > 1 && b[0] == 0) {
      b = java.util.Arrays.copyOfRange(b, 1, b.length);
    }
    if (length > b.length) {
      byte[] padded = new byte[length];
      System.arraycopy(b, 0, padded, length - b.length, b.length);
      b = padded;
    }
    return B64.encodeToString(b);
  }

  @Benchmark
  public boolean run() {
    FilterContext c = context;
    c.clear();
    c.head = requests[next];
    next = next + 1 == requests.length ? 0 : next + 1;
    filter.onRequest(c);
    if (c.hasLocalReply()) {
      throw new IllegalStateException(c.status() + " " + c.body());
    }
    return c.metadata != null;
  }
}
