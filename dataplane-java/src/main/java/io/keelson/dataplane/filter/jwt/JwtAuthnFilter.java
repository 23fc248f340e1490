package io.keelson.dataplane.filter.jwt;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.stats.ResponseFlag;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;

/**
 * Checks the request's JWTs against the requirement of its path, as Envoy's jwt_authn: a failure
 * answers 401 (403 for audiences) with Envoy's message and {@code www-authenticate: Bearer
 * realm="<url>"} (plus {@code , error="invalid_token"} unless the token is missing); success leaves
 * the verified tokens as dynamic metadata for RBAC, removes the token header unless {@code forward},
 * and adds {@code forward_payload_header}. Signature checks run inline (a few tens of microseconds);
 * remote keys are only read here, fetched by {@link RemoteJwks}. Thread-safe: per-request state is
 * local to the call.
 */
final class JwtAuthnFilter implements HttpFilter {
  private final JwtAuthnConfig config;
  private final Clock clock;
  private final LongAdder allowed;
  private final LongAdder denied;

  JwtAuthnFilter(JwtAuthnConfig config, Clock clock, LongAdder allowed, LongAdder denied) {
    this.config = config;
    this.clock = clock;
    this.allowed = allowed;
    this.denied = denied;
  }

  @Override
  public void onRequest(FilterContext context) {
    RequestHead head = context.head;
    if (config.bypassCorsPreflight() && "OPTIONS".equals(head.method()) && head.header("origin") != null
        && head.header("access-control-request-method") != null) {
      return;
    }
    Requirement r = config.requirementFor(head.path());
    if (r == null) {
      return;
    }
    Attempt attempt = new Attempt(head, clock.millis() / 1000, config.providers());
    JwtStatus s = r.evaluate(attempt);
    if (s != JwtStatus.OK) {
      denied.increment();
      context.localReply(s.httpStatus(), s.message, wwwAuthenticate(head, s), ResponseFlag.JWT_AUTHN);
      return;
    }
    allowed.increment();
    if (attempt.verified.isEmpty()) {
      return;
    }
    context.metadata = new JwtMetadata(attempt.verified);
    List<HeaderMutations.HeaderValue> add = new ArrayList<>(0);
    List<String> remove = new ArrayList<>(0);
    for (Attempt.Verified v : attempt.verified) {
      if (!v.provider().forward() && v.fromHeader() != null) {
        remove.add(v.fromHeader());
      }
      if (v.provider().payloadHeader() != null) {
        add.add(new HeaderMutations.HeaderValue(v.provider().payloadHeader(), v.jwt().payloadB64(), false));
      }
      for (Provider.ClaimHeader c : v.provider().claimHeaders()) {
        // The client's own header of that name never passes as if it were the claim (Envoy leaves it when the claim
        // is missing: Keelson removes it then).
        remove.add(c.header());
        String value = Provider.claim(v.jwt().payload(), c.claim());
        if (value != null) {
          add.add(new HeaderMutations.HeaderValue(c.header(), value, false));
        }
      }
    }
    if (!add.isEmpty() || !remove.isEmpty()) {
      context.mutateRequestHeaders(new HeaderMutations(add, remove));
    }
  }

  /** Envoy's: {@code Bearer realm="<scheme>://<host><path>"}, with {@code error="invalid_token"} unless the token was missing. */
  static String wwwAuthenticate(RequestHead head, JwtStatus s) {
    String scheme = head.header("x-forwarded-proto");
    String host = head.authority();
    return "www-authenticate: Bearer realm=\"" + (scheme == null ? "http" : scheme) + "://" + (host == null ? "" : host)
        + head.path() + "\"" + (s == JwtStatus.MISSING ? "" : ", error=\"invalid_token\"") + "\r\n";
  }
}
