package io.keelson.dataplane.filter.jwt;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * One public key of a JWKS (RFC 7517): RSA ({@code n}, {@code e}) or EC on P-256/P-384/P-521 ({@code x},
 * {@code y}), built with the JDK's KeyFactory. Immutable.
 *
 * @param kid the key id, or null
 * @param alg the algorithm the key is for, or null (any of its type)
 * @param crv the EC curve (P-256...), or null for RSA
 */
record Jwk(String kid, String alg, String kty, String crv, PublicKey key) {
  static final ObjectMapper JSON = new ObjectMapper();

  /** Parses a JWKS ({@code {"keys": [...]}}) or a single JWK; keys of other types (oct, OKP) are skipped. */
  static List<Jwk> parseSet(String json) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (java.io.IOException e) {
      throw new IllegalArgumentException("not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("expected a JSON object with \"keys\"");
    }
    List<JsonNode> nodes = new ArrayList<>();
    if (root.has("keys")) {
      if (!root.get("keys").isArray()) {
        throw new IllegalArgumentException("\"keys\" must be an array");
      }
      root.get("keys").forEach(nodes::add);
    } else {
      nodes.add(root);
    }
    List<Jwk> out = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) {
      JsonNode k = nodes.get(i);
      String kty = text(k, "kty");
      if (kty == null) {
        throw new IllegalArgumentException("keys[" + i + "]: \"kty\" is required");
      }
      try {
        switch (kty) {
          case "RSA" -> out.add(new Jwk(text(k, "kid"), text(k, "alg"), kty, null, rsa(k)));
          case "EC" -> out.add(new Jwk(text(k, "kid"), text(k, "alg"), kty, text(k, "crv"), ec(k)));
          default -> { } // oct (HMAC) and OKP keys are not supported: skipped, as keys for other uses are
        }
      } catch (GeneralSecurityException | IllegalArgumentException e) {
        throw new IllegalArgumentException("keys[" + i + "]: " + e.getMessage());
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("no RSA or EC key in the JWKS");
    }
    return List.copyOf(out);
  }

  private static PublicKey rsa(JsonNode k) throws GeneralSecurityException {
    return KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(big(k, "n"), big(k, "e")));
  }

  private static PublicKey ec(JsonNode k) throws GeneralSecurityException {
    String crv = text(k, "crv");
    String name = switch (crv == null ? "" : crv) {
      case "P-256" -> "secp256r1";
      case "P-384" -> "secp384r1";
      case "P-521" -> "secp521r1";
      default -> throw new IllegalArgumentException("EC curve '" + crv + "' is not supported; expected P-256, P-384 or P-521");
    };
    AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
    params.init(new ECGenParameterSpec(name));
    ECParameterSpec spec = params.getParameterSpec(ECParameterSpec.class);
    return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(big(k, "x"), big(k, "y")), spec));
  }

  private static BigInteger big(JsonNode k, String field) {
    String v = text(k, field);
    if (v == null) {
      throw new IllegalArgumentException("\"" + field + "\" is required");
    }
    try {
      return new BigInteger(1, Base64.getUrlDecoder().decode(v));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("\"" + field + "\" is not base64url");
    }
  }

  private static String text(JsonNode k, String field) {
    JsonNode v = k.get(field);
    return v == null || !v.isTextual() ? null : v.asText();
  }
}
