package io.keelson.dataplane.filter.csrf;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.FilterRandom;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.route.ValueMatch;
import io.keelson.dataplane.stats.ResponseFlag;

/**
 * Envoy's CSRF filter (csrf_filter.cc) for one policy: a mutating request (POST, PUT, DELETE, PATCH) whose source
 * origin (the Origin header's host-and-port, else the Referer's) is missing, or differs from its target (the Host /
 * {@code :authority}) and matches none of additional_origins, is answered 403 {@code Invalid origin} when the policy
 * is enabled for it, and only counted when it is shadowed. Other methods pass untouched. Immutable apart from its
 * shared counters; thread-safe; a request costs no allocation.
 */
final class CsrfFilter implements HttpFilter {
  static final String INVALID_ORIGIN = "Invalid origin";

  private final CsrfConfig policy;
  private final CsrfStats stats;
  private final FilterRandom random;
  private final ValueMatch[] additionalOrigins;

  CsrfFilter(CsrfConfig policy, CsrfStats stats, FilterRandom random) {
    this.policy = policy;
    this.stats = stats;
    this.random = random;
    this.additionalOrigins = policy.additionalOrigins().toArray(new ValueMatch[0]);
  }

  @Override
  public void onRequest(FilterContext context) {
    boolean enabled = policy.filterEnabled().sample(random);
    boolean shadow = policy.shadowEnabled() != null && policy.shadowEnabled().sample(random);
    if (!enabled && !shadow) {
      return;
    }
    RequestHead head = context.head;
    if (!mutating(head.method())) {
      return;
    }
    String source = nonEmpty(head.header("origin"));
    if (source == null) {
      source = nonEmpty(head.header("referer"));
    }
    boolean valid = true;
    if (source == null) {
      valid = false;
      stats.missingSourceOrigin().increment();
    }
    if (!sameOrAllowed(source, head.authority())) {
      valid = false;
      stats.requestInvalid().increment();
    }
    if (valid) {
      stats.requestValid().increment();
      return;
    }
    if (enabled) {
      context.localReply(403, INVALID_ORIGIN, null, ResponseFlag.NONE);
    }
  }

  private static boolean mutating(String method) {
    return switch (method) {
      case "POST", "PUT", "DELETE", "PATCH" -> true;
      default -> false;
    };
  }

  private static String nonEmpty(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  /** Envoy's isValid: the source's host-and-port equals the target's, or matches an additional origin. */
  private boolean sameOrAllowed(String source, String target) {
    if (source == null) {
      source = ""; // Envoy compares the empty source too: equal to an empty target, or matched by an additional origin
    }
    long span = OriginHost.span(source);
    int from = OriginHost.from(span);
    int length = OriginHost.to(span) - from;
    int targetLength = target == null ? 0 : target.length();
    if (targetLength == length && (length == 0 || source.regionMatches(from, target, 0, length))) {
      return true;
    }
    for (ValueMatch m : additionalOrigins) {
      if (m.matches(source, from, from + length)) {
        return true;
      }
    }
    return false;
  }
}
