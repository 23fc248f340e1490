package io.keelson.dataplane.filter.jwt;

/**
 * The outcome of checking a request's JWT, with Envoy's (jwt_verify_lib's) message, which is the body
 * of the 401 (or 403 for audiences) the filter answers.
 */
enum JwtStatus {
  OK("Jwt is OK"),
  MISSING("Jwt is missing"),
  BAD_FORMAT("Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"),
  BAD_JSON("Jwt header or payload is an invalid JSON"),
  BAD_ALG("Jwt header [alg] is not supported"),
  EXPIRED("Jwt is expired"),
  NOT_YET_VALID("Jwt not yet valid"),
  EXP_MISSING("Jwt doesn't have an expiration"),
  UNKNOWN_ISSUER("Jwt issuer is not configured"),
  AUDIENCE_NOT_ALLOWED("Audiences in Jwt are not allowed"),
  KID_ALG_MISMATCH("Jwks doesn't have key to match kid or alg from Jwt"),
  VERIFICATION_FAILED("Jwt verification fails"),
  JWKS_FETCH_FAILED("Jwks remote fetch is failed");

  final String message;

  JwtStatus(String message) {
    this.message = message;
  }

  /** Envoy answers 403 for a token whose audiences are not allowed, 401 otherwise. */
  int httpStatus() {
    return this == AUDIENCE_NOT_ALLOWED ? 403 : 401;
  }
}
