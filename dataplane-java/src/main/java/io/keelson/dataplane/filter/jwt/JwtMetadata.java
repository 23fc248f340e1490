package io.keelson.dataplane.filter.jwt;

import io.keelson.dataplane.filter.DynamicMetadata;
import java.util.List;
import java.util.Map;

/**
 * The dynamic metadata of a request whose JWTs verified, in the two shapes RBAC policies read:
 * Envoy's {@code envoy.filters.http.jwt_authn} (each provider's payload under its
 * {@code payload_in_metadata} key) and Istio's {@code istio_authn} for the first verified token
 * ({@code request.auth.principal} = {@code iss/sub}, {@code request.auth.audiences},
 * {@code request.auth.presenter}, {@code request.auth.claims} with string claims as one-element lists,
 * as Istio's authn filter writes them). Immutable once built (the attempt that built it is over).
 */
final class JwtMetadata implements DynamicMetadata {
  static final String ISTIO_AUTHN = "istio_authn";

  private final List<Attempt.Verified> verified;
  private final String principal;

  JwtMetadata(List<Attempt.Verified> verified) {
    this.verified = verified; // the attempt's list, handed over: no copy
    this.principal = verified.getFirst().jwt().principal();
  }

  /** The first verified token's {@code iss/sub} (Istio's request principal). */
  String principal() {
    return principal;
  }

  @Override
  public Object value(String filter, String[] path) {
    if (path.length == 0) {
      return null;
    }
    if (filter.equals(JwtAuthnFactory.FILTER_NAME)) {
      for (Attempt.Verified v : verified) {
        if (path[0].equals(v.provider().payloadInMetadata())) {
          return descend(v.jwt().payload(), path, 1);
        }
      }
      return null;
    }
    if (!filter.equals(ISTIO_AUTHN)) {
      return null;
    }
    Jwt first = verified.getFirst().jwt();
    return switch (path[0]) {
      case "request.auth.principal" -> path.length == 1 ? principal : null;
      case "request.auth.audiences" -> path.length == 1 && !first.aud().isEmpty() ? first.aud().getFirst() : null;
      case "request.auth.presenter" -> path.length == 1 ? first.payload().get("azp") : null;
      case "request.auth.claims" -> {
        Object v = descend(first.payload(), path, 1);
        yield v instanceof String s ? List.of(s) : v;
      }
      default -> null;
    };
  }

  private static Object descend(Object value, String[] path, int from) {
    Object v = value;
    for (int i = from; i < path.length; i++) {
      if (!(v instanceof Map<?, ?> m)) {
        return null;
      }
      v = m.get(path[i]);
    }
    return v;
  }
}
