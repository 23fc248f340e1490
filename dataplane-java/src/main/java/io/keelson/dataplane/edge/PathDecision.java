package io.keelson.dataplane.edge;

import io.keelson.dataplane.stats.HttpStats;

/**
 * What the connection manager does with a request's path before any filter or route sees it
 * ({@link PathNormalizer#decide}): forward it ({@code status} 0; {@code path} the normalized path, or null when
 * unchanged), refuse it (400) or redirect the client (307 to {@code path} with the query). Immutable.
 */
public record PathDecision(int status, String path) {
  /** Forwarded as sent. */
  public static final PathDecision UNCHANGED = new PathDecision(0, null);
  /** 400: a fragment ('#') in the path, which Envoy refuses whatever the normalization (CVE-2021-39156). */
  static final PathDecision FRAGMENT = new PathDecision(400, null);
  /** 400: normalization refused the path (counted in downstream_rq_failed_path_normalization). */
  static final PathDecision REFUSED = new PathDecision(400, null);

  public boolean forwarded() {
    return status == 0;
  }

  /** The reply's header lines ({@code location} of a redirect), or null. */
  public String replyHeaders() {
    return status == 307 ? "location: " + path + "\r\n" : null;
  }

  /** Counts a refused or redirected path in the connection manager's stats, as Envoy's. */
  public void count(HttpStats stats) {
    if (this == REFUSED) {
      stats.rqFailedPathNormalization.increment();
    } else if (status == 307) {
      stats.rqRedirectedWithNormalizedPath.increment();
    }
  }
}
