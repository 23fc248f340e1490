package io.keelson.control.policy;

import java.util.List;

/**
 * Istio's JWT claim match keys in a VirtualService {@code match.headers} / {@code withoutHeaders}:
 * {@code @request.auth.claims.NAME} ({@code a.b} names a nested claim) matches the verified token's claim, not a
 * header. The control plane turns them into a route {@code dynamic_metadata} matcher on {@code istio_authn} /
 * {@code request.auth.claims} (as istiod), which only matches where a RequestAuthentication verified the token. Stateless.
 */
public final class JwtClaimKey {
  public static final String PREFIX = "@request.auth.claims.";

  private JwtClaimKey() {}

  /** Whether {@code key} names a JWT claim rather than a header. */
  public static boolean isClaim(String key) {
    return key.startsWith(PREFIX);
  }

  /** The claim's path ({@code a.b} → [a, b]) of a key {@link #isClaim} accepted and {@link #check} found valid. */
  public static List<String> path(String key) {
    return List.of(key.substring(PREFIX.length()).split("\\.", -1));
  }

  /**
   * Reports a key that starts with {@code @} (not a header name) but is not a well-formed claim key, on
   * {@code match}'s {@code field} entry.
   */
  static void check(Fields match, String field, String key) {
    if (!key.startsWith("@")) {
      return;
    }
    if (!isClaim(key)) {
      match.error(field + "." + key, "only @request.auth.claims.<claim> keys are supported (a JWT claim, e.g."
          + " @request.auth.claims.groups); other names must be header names");
      return;
    }
    for (String part : path(key)) {
      if (part.isEmpty()) {
        match.error(field + "." + key, "expected @request.auth.claims.<claim> with a non-empty claim name"
            + " (a.b for a nested claim)");
        return;
      }
    }
  }
}
