package io.keelson.dataplane.stats;

/** Envoy's response flags (the short form in {@code %RESPONSE_FLAGS%} and Istio's {@code response_flags}). */
public enum ResponseFlag {
  NONE("-"),
  /** No route matched. */
  NR("NR"),
  /** The route's cluster does not exist. */
  NC("NC"),
  /** No healthy upstream host. */
  UH("UH"),
  /** Upstream connection failure. */
  UF("UF"),
  /** Upstream request timeout. */
  UT("UT"),
  /** Upstream connection terminated. */
  UC("UC"),
  /** The upstream reset the request's stream (an HTTP/2 RST_STREAM), REFUSED_STREAM included. */
  UR("UR"),
  /** Downstream connection terminated. */
  DC("DC"),
  /** Upstream protocol error. */
  UPE("UPE"),
  /** Downstream protocol error. */
  DPE("DPE"),
  /** Local overload (the routing ring was full). */
  LR("LR"),
  /** Direct response from the route. */
  DR("DR"),
  /** Upstream overflow: a circuit breaker was open. */
  UO("UO"),
  /** Upstream retry limit exceeded. */
  URX("URX"),
  /** The fault filter aborted the request. */
  FI("FI"),
  /** The fault filter delayed the request. */
  DI("DI"),
  /** The local or global rate limit rejected the request. */
  RL("RL"),
  /** The rate limit service could not be asked and failure_mode_deny answered 500. */
  RLSE("RLSE"),
  /** The RBAC filter denied the request. */
  RBAC("RBAC"),
  /** The exchange made no progress for the stream idle timeout (stream_idle_timeout). */
  SI("SI"),
  /** The JWT authentication filter answered 401/403 (Envoy sets no flag for it, hence "-"). */
  JWT_AUTHN("-"),
  /** The external authorization service denied the request, or could not be asked (ext_authz). */
  UAEX("UAEX"),
  /** The CORS filter answered a preflight itself (Envoy sets no flag for it, hence "-"). */
  CORS("-"),
  /** The health_check filter answered 503: this server fails its health checks (Envoy's FailedLocalHealthCheck). */
  LH("LH");

  public final String code;

  ResponseFlag(String code) {
    this.code = code;
  }

  static final ResponseFlag[] VALUES = values();
}
