package io.keelson.dataplane.rbac;

/**
 * The outcome of one evaluation: allowed or not, and the policy that decided (null when none
 * matched). Instances are pre-built per policy, so evaluating allocates nothing. Immutable.
 */
public record RbacDecision(boolean allowed, String policy) {
  static final RbacDecision ALLOWED_NO_POLICY = new RbacDecision(true, null);
  static final RbacDecision DENIED_NO_POLICY = new RbacDecision(false, null);

  /** HTTP answer to a denied request (Envoy's body). */
  public static final int HTTP_STATUS = 403;
  public static final String HTTP_BODY = "RBAC: access denied";
  /** gRPC answer to a denied call: {@code grpc-status: 7} (PERMISSION_DENIED). */
  public static final int GRPC_STATUS = 7;
}
