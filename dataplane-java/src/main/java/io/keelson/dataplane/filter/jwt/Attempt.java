package io.keelson.dataplane.filter.jwt;

import io.keelson.dataplane.route.RequestHead;
import java.util.ArrayList;
import java.util.List;

/**
 * One request's JWT checks: each provider's token is extracted, parsed and checked at most once (for
 * its own audiences), and the tokens that verified are kept in provider order. Confined to the thread
 * running the filter, for one request.
 */
final class Attempt {
  private static final String NONE = "";
  private final RequestHead head;
  private final long nowSeconds;
  private final Provider[] providers;
  private final String[] tokens;
  private final String[] fromHeaders;
  private final JwtStatus[] results;
  private final Jwt[] parsed;
  final List<Verified> verified = new ArrayList<>(1);

  /** A token that verified, the provider that accepted it and the header it came from (null: a query parameter). */
  record Verified(Provider provider, Jwt jwt, String fromHeader) {}

  Attempt(RequestHead head, long nowSeconds, Provider[] providers) {
    this.head = head;
    this.nowSeconds = nowSeconds;
    this.providers = providers;
    int n = providers.length;
    tokens = new String[n];
    fromHeaders = new String[n];
    results = new JwtStatus[n];
    parsed = new Jwt[n];
  }

  private String token(int i) {
    if (tokens[i] == null) {
      String[] from = new String[1];
      String t = providers[i].extract(head, from);
      tokens[i] = t == null ? NONE : t;
      fromHeaders[i] = from[0];
    }
    return tokens[i] == NONE ? null : tokens[i];
  }

  /** True when some provider finds a token in the request. */
  boolean anyToken() {
    for (int i = 0; i < providers.length; i++) {
      if (token(i) != null) {
        return true;
      }
    }
    return false;
  }

  /** Checks provider {@code i}'s token ({@code audiences} null: the provider's own). */
  JwtStatus provider(int i, List<String> audiences) {
    if (audiences == null && results[i] != null) {
      return results[i];
    }
    String t = token(i);
    JwtStatus s;
    if (t == null) {
      s = JwtStatus.MISSING;
    } else {
      try {
        if (parsed[i] == null) {
          List<Jwk> keys = providers[i].keys();
          Jwt known = keys == null ? null : providers[i].verified().get(t, keys);
          parsed[i] = known != null ? known : Jwt.parse(t); // a token seen before is not parsed again
        }
        s = providers[i].check(t, parsed[i], nowSeconds, audiences);
      } catch (Jwt.Invalid e) {
        s = e.status;
      }
    }
    if (s == JwtStatus.OK && !isVerified(providers[i])) {
      verified.add(new Verified(providers[i], parsed[i], fromHeaders[i]));
    }
    if (audiences == null) {
      results[i] = s;
    }
    return s;
  }

  private boolean isVerified(Provider p) {
    for (int k = 0; k < verified.size(); k++) {
      if (verified.get(k).provider() == p) {
        return true;
      }
    }
    return false;
  }

  /** Every provider's token: OK when one verifies, else the first failure that is not a missing token or an unknown issuer. */
  JwtStatus anyProvider() {
    JwtStatus failure = null;
    boolean ok = false;
    for (int i = 0; i < providers.length; i++) {
      JwtStatus s = provider(i, null);
      if (s == JwtStatus.OK) {
        ok = true;
      } else if (failure == null || rank(s) > rank(failure)) {
        failure = s;
      }
    }
    return ok ? JwtStatus.OK : failure == null ? JwtStatus.MISSING : failure;
  }

  private static int rank(JwtStatus s) {
    return s == JwtStatus.MISSING ? 0 : s == JwtStatus.UNKNOWN_ISSUER ? 1 : 2;
  }
}
