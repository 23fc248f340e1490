package io.keelson.dataplane.filter.rls;

import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import java.util.List;

/**
 * The {@code x-ratelimit-limit}, {@code -remaining} and {@code -reset} header lines of draft 03 of the IETF
 * RateLimit header fields, built from a RateLimitResponse's descriptor statuses as Envoy does: the status with the
 * least remaining of those that carry a current limit gives the values; the limit lists every status's quota policy
 * ({@code , <requests>;w=<window seconds>[;name="<name>"]}). Stateless.
 */
final class XRateLimitHeaders {
  private XRateLimitHeaders() {}

  /** The header lines ({@code name: value\r\n}), or null when no status carries a current limit. */
  static String lines(List<RateLimitResponse.DescriptorStatus> statuses) {
    RateLimitResponse.DescriptorStatus min = null;
    StringBuilder policy = new StringBuilder();
    for (RateLimitResponse.DescriptorStatus s : statuses) {
      if (!s.hasCurrentLimit()) {
        continue;
      }
      if (min == null || Integer.toUnsignedLong(s.getLimitRemaining()) < Integer.toUnsignedLong(min.getLimitRemaining())) {
        min = s;
      }
      long window = windowSeconds(s.getCurrentLimit().getUnit());
      if (window > 0) {
        policy.append(", ").append(Integer.toUnsignedString(s.getCurrentLimit().getRequestsPerUnit())).append(";w=").append(window);
        String name = s.getCurrentLimit().getName();
        if (!name.isEmpty() && name.indexOf('"') < 0 && name.indexOf('\r') < 0 && name.indexOf('\n') < 0) {
          policy.append(";name=\"").append(name).append('"');
        }
      }
    }
    if (min == null) {
      return null;
    }
    return "x-ratelimit-limit: " + Integer.toUnsignedString(min.getCurrentLimit().getRequestsPerUnit()) + policy + "\r\n"
        + "x-ratelimit-remaining: " + Integer.toUnsignedString(min.getLimitRemaining()) + "\r\n"
        + "x-ratelimit-reset: " + min.getDurationUntilReset().getSeconds() + "\r\n";
  }

  private static long windowSeconds(RateLimitResponse.RateLimit.Unit unit) {
    return switch (unit) {
      case SECOND -> 1;
      case MINUTE -> 60;
      case HOUR -> 3600;
      case DAY -> 86400;
      case WEEK -> 7 * 86400L;
      case MONTH -> 30 * 86400L;
      case YEAR -> 365 * 86400L;
      default -> 0;
    };
  }
}
