package io.keelson.dataplane.filter.jwt;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.Signature;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * A JWS compact token (RFC 7515/7519), parsed but not yet trusted: header {@code alg}/{@code kid},
 * the payload's claims, and what the signature covers. {@link #verify} checks the signature with the
 * JDK (RS256/384/512, ES256/384/512). Immutable.
 *
 * @param payloadB64 the payload as sent (base64url), for forward_payload_header
 * @param aud        the audiences ({@code aud} as a string or an array); empty when absent
 * @param exp        {@code exp} in seconds, or -1; {@code nbf} likewise
 * @param principal  Istio's request principal, {@code iss/sub}
 */
record Jwt(String alg, String kid, Map<String, Object> payload, String payloadB64, byte[] signingInput,
    byte[] signature, String iss, String sub, List<String> aud, long exp, long nbf, String principal) {

  /** A token's parse failure. */
  static final class Invalid extends Exception {
    final JwtStatus status;

    Invalid(JwtStatus status) {
      super(status.message, null, false, false);
      this.status = status;
    }
  }

  @SuppressWarnings("unchecked")
  static Jwt parse(String token) throws Invalid {
    int a = token.indexOf('.');
    int b = a < 0 ? -1 : token.indexOf('.', a + 1);
    if (a <= 0 || b < 0 || token.indexOf('.', b + 1) >= 0 || b == a + 1) {
      throw new Invalid(JwtStatus.BAD_FORMAT);
    }
    Base64.Decoder d = Base64.getUrlDecoder();
    Map<String, Object> header;
    Map<String, Object> payload;
    byte[] signature;
    try {
      header = Jwk.JSON.readValue(d.decode(token.substring(0, a)), Map.class);
      payload = Jwk.JSON.readValue(d.decode(token.substring(a + 1, b)), Map.class);
      signature = d.decode(token.substring(b + 1));
    } catch (IllegalArgumentException e) {
      throw new Invalid(JwtStatus.BAD_FORMAT);
    } catch (java.io.IOException | ClassCastException e) {
      throw new Invalid(JwtStatus.BAD_JSON);
    }
    if (header == null || payload == null || !(header.get("alg") instanceof String alg)) {
      throw new Invalid(JwtStatus.BAD_JSON);
    }
    if (javaAlgorithm(alg) == null) {
      throw new Invalid(JwtStatus.BAD_ALG);
    }
    Object aud = payload.get("aud");
    List<String> auds = aud instanceof String s ? List.of(s)
        : aud instanceof List<?> l ? l.stream().filter(String.class::isInstance).map(String.class::cast).toList()
        : List.of();
    String iss = string(payload, "iss");
    String sub = string(payload, "sub");
    return new Jwt(alg, header.get("kid") instanceof String k ? k : null, payload, token.substring(a + 1, b),
        token.substring(0, b).getBytes(StandardCharsets.US_ASCII), signature, iss, sub, auds,
        seconds(payload.get("exp")), seconds(payload.get("nbf")), (iss == null ? "" : iss) + "/" + (sub == null ? "" : sub));
  }

  private static String string(Map<String, Object> m, String k) {
    return m.get(k) instanceof String s ? s : null;
  }

  private static long seconds(Object v) {
    return v instanceof Number n ? n.longValue() : -1;
  }

  /** The JDK signature algorithm for a JWS {@code alg}, or null when Keelson does not verify it. */
  static String javaAlgorithm(String alg) {
    return switch (alg) {
      case "RS256" -> "SHA256withRSA";
      case "RS384" -> "SHA384withRSA";
      case "RS512" -> "SHA512withRSA";
      case "ES256" -> "SHA256withECDSAinP1363Format"; // JWS carries R||S, not DER
      case "ES384" -> "SHA384withECDSAinP1363Format";
      case "ES512" -> "SHA512withECDSAinP1363Format";
      default -> null;
    };
  }

  private static String curve(String alg) {
    return switch (alg) {
      case "ES256" -> "P-256";
      case "ES384" -> "P-384";
      case "ES512" -> "P-521";
      default -> null;
    };
  }

  /**
   * Checks the signature against the keys that fit (kid and alg, when both sides name them; the key
   * type and curve of {@code alg}): OK when one verifies, else why not.
   */
  JwtStatus verify(List<Jwk> keys) {
    String kty = alg.startsWith("RS") ? "RSA" : "EC";
    String crv = curve(alg);
    boolean tried = false;
    for (Jwk k : keys) {
      if ((kid != null && k.kid() != null && !kid.equals(k.kid())) || (k.alg() != null && !k.alg().equals(alg))
          || !k.kty().equals(kty) || (crv != null && !crv.equals(k.crv()))) {
        continue;
      }
      tried = true;
      try {
        Signature s = Signature.getInstance(javaAlgorithm(alg));
        s.initVerify(k.key());
        s.update(signingInput);
        if (s.verify(signature)) {
          return JwtStatus.OK;
        }
      } catch (GeneralSecurityException e) {
        // a malformed signature for this key: try the next one
      }
    }
    return tried ? JwtStatus.VERIFICATION_FAILED : JwtStatus.KID_ALG_MISMATCH;
  }
}
