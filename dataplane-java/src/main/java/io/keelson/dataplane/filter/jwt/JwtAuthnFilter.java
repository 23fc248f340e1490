package io.keelson.dataplane.filter.jwt;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HeaderOverlay;
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
 * and adds {@code forward_payload_header}; a provider with {@code clear_route_cache} whose token verified and left
 * metadata ({@code payload_in_metadata}) or a claim header has the route chosen again (as Envoy), so routes can match
 * on the claims ({@code dynamic_metadata}) or on claim headers. Signature checks run inline (a few tens of microseconds);
 * remote keys are only read here, fetched by {@link RemoteJwks}. Thread-safe: per-request state is
 * local to the call.
 */
final class JwtAuthnFilter implements HttpFilter {
  private final JwtAuthnConfig config;
  private final Clock clock;
  private final LongAdder allowed;
  private final LongAdder denied;

  /** Every provider's claim_to_headers header names, once each: removed from every request as received. */
  private final String[] claimHeaders;
  /** A provider clears the route cache: routes may match on claim headers, so a client's own must not route either. */
  private final boolean clearsRouteCache;

  JwtAuthnFilter(JwtAuthnConfig config, Clock clock, LongAdder allowed, LongAdder denied) {
    this.config = config;
    this.clock = clock;
    this.allowed = allowed;
    this.denied = denied;
    java.util.LinkedHashSet<String> names = new java.util.LinkedHashSet<>();
    for (Provider p : config.providers()) {
      for (Provider.ClaimHeader c : p.claimHeaders()) {
        names.add(c.header());
      }
    }
    this.claimHeaders = names.toArray(new String[0]);
    boolean clears = false;
    for (Provider p : config.providers()) {
      clears |= p.clearRouteCache();
    }
    this.clearsRouteCache = clears;
  }

  @Override
  public void onRequest(FilterContext context) {
    if (claimHeaders.length > 0) {
      // A client's own header of a claim's name never passes as the claim: not without a token, not with another
      // provider's token, not on a path without a requirement (as istiod strips them). Claims add theirs below.
      if (clearsRouteCache && sentAny(context.head)) {
        context.clearRouteCache(); // the route was chosen by a client's claim header: choose it without that header
      }
      context.head = new HeaderOverlay(context.head, claimHeaders, new String[claimHeaders.length]);
      context.mutateRequestHeaders(new HeaderMutations(List.of(), List.of(claimHeaders)));
    }
    verify(context);
  }

  private void verify(FilterContext context) {
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
    List<String> remove = new ArrayList<>(java.util.Arrays.asList(claimHeaders));
    String[] claimValues = claimHeaders.length == 0 ? null : new String[claimHeaders.length];
    boolean clearRouteCache = false;
    for (Attempt.Verified v : attempt.verified) {
      Provider p = v.provider();
      clearRouteCache |= p.clearRouteCache() && (p.payloadInMetadata() != null || !p.claimHeaders().isEmpty());
      if (!v.provider().forward() && v.fromHeader() != null) {
        remove.add(v.fromHeader());
      }
      if (v.provider().payloadHeader() != null) {
        add.add(new HeaderMutations.HeaderValue(v.provider().payloadHeader(), v.jwt().payloadB64(), false));
      }
      for (Provider.ClaimHeader c : v.provider().claimHeaders()) {
        String value = Provider.claim(v.jwt().payload(), c.path());
        int at = indexOf(claimHeaders, c.header());
        if (value != null && claimValues[at] == null) { // the first verified token's claim, as Envoy's first provider
          claimValues[at] = value;
          add.add(new HeaderMutations.HeaderValue(c.header(), value, false));
        }
      }
    }
    if (claimValues != null) { // the filters after this one read the claims, not what the client sent
      context.head = new HeaderOverlay(head, claimHeaders, claimValues);
    }
    if (!add.isEmpty() || !remove.isEmpty()) {
      context.mutateRequestHeaders(new HeaderMutations(add, remove));
    }
    if (clearRouteCache) {
      context.clearRouteCache();
    }
  }

  private boolean sentAny(RequestHead head) {
    for (String h : claimHeaders) {
      if (head.header(h) != null) {
        return true;
      }
    }
    return false;
  }

  private static int indexOf(String[] names, String name) {
    for (int i = 0; i < names.length; i++) {
      if (names[i].equals(name)) {
        return i;
      }
    }
    throw new IllegalStateException(name + " is not a claim header");
  }

  /** Envoy's: {@code Bearer realm="<scheme>://<host><path>"}, with {@code error="invalid_token"} unless the token was missing. */
  static String wwwAuthenticate(RequestHead head, JwtStatus s) {
    String scheme = head.header("x-forwarded-proto");
    String host = head.authority();
    return "www-authenticate: Bearer realm=\"" + (scheme == null ? "http" : scheme) + "://" + (host == null ? "" : host)
        + head.path() + "\"" + (s == JwtStatus.MISSING ? "" : ", error=\"invalid_token\"") + "\r\n";
  }
}
