package io.keelson.dataplane.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Test keys and tokens for JWT authentication: an RSA (RS256) and a P-256 (ES256) key pair with ids,
 * their JWKS, and compact JWS tokens signed with JDK crypto. Immutable after construction.
 */
public final class TestJwts {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

  public final KeyPair rsa;
  public final KeyPair ec;
  public final String rsaKid = "rsa-1";
  public final String ecKid = "ec-1";

  public TestJwts() {
    try {
      KeyPairGenerator r = KeyPairGenerator.getInstance("RSA");
      r.initialize(2048);
      rsa = r.generateKeyPair();
      KeyPairGenerator e = KeyPairGenerator.getInstance("EC");
      e.initialize(new ECGenParameterSpec("secp256r1"));
      ec = e.generateKeyPair();
    } catch (Exception ex) {
      throw new IllegalStateException(ex);
    }
  }

  /** The JWKS with both public keys. */
  public String jwks() {
    RSAPublicKey r = (RSAPublicKey) rsa.getPublic();
    ECPublicKey e = (ECPublicKey) ec.getPublic();
    return json(Map.of("keys", List.of(
        Map.of("kty", "RSA", "kid", rsaKid, "alg", "RS256", "use", "sig", "n", unsigned(r.getModulus(), 0),
            "e", unsigned(r.getPublicExponent(), 0)),
        Map.of("kty", "EC", "kid", ecKid, "crv", "P-256", "x", unsigned(e.getW().getAffineX(), 32),
            "y", unsigned(e.getW().getAffineY(), 32)))));
  }

  /** Claims {@code iss}, {@code sub}, {@code aud} and an expiry an hour from now, plus {@code extra}. */
  public static Map<String, Object> claims(String iss, String sub, String aud, Object... extra) {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("iss", iss);
    c.put("sub", sub);
    if (aud != null) {
      c.put("aud", aud);
    }
    c.put("exp", System.currentTimeMillis() / 1000 + 3600);
    for (int i = 0; i < extra.length; i += 2) {
      c.put((String) extra[i], extra[i + 1]);
    }
    return c;
  }

  public String rs256(Map<String, Object> claims) {
    return sign("RS256", rsaKid, "SHA256withRSA", rsa, claims);
  }

  public String es256(Map<String, Object> claims) {
    return sign("ES256", ecKid, "SHA256withECDSAinP1363Format", ec, claims);
  }

  /** A token signed by {@code keys} but naming this set's RSA key id (a forged signature). */
  public String rs256SignedBy(KeyPair keys, Map<String, Object> claims) {
    return sign("RS256", rsaKid, "SHA256withRSA", keys, claims);
  }

  private static String sign(String alg, String kid, String javaAlg, KeyPair keys, Map<String, Object> claims) {
    String input = B64.encodeToString(json(Map.of("alg", alg, "kid", kid, "typ", "JWT")).getBytes(StandardCharsets.UTF_8))
        + "." + B64.encodeToString(json(claims).getBytes(StandardCharsets.UTF_8));
    try {
      Signature s = Signature.getInstance(javaAlg);
      s.initSign(keys.getPrivate());
      s.update(input.getBytes(StandardCharsets.US_ASCII));
      return input + "." + B64.encodeToString(s.sign());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String unsigned(BigInteger v, int length) {
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

  private static String json(Object o) {
    try {
      return JSON.writeValueAsString(o);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
