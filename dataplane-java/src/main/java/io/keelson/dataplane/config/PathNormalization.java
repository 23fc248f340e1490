package io.keelson.dataplane.config;

/**
 * The connection manager's path normalization: Envoy's {@code normalize_path} (RFC 3986 dot-segment removal and
 * percent-encoding normalization, as Envoy's Chromium-derived canonicalizer), {@code merge_slashes} and
 * {@code path_with_escaped_slashes_action}. Applied to every request before the filters and routing; see
 * {@link io.keelson.dataplane.edge.PathNormalizer}. Immutable.
 *
 * @param normalizePath  {@code normalize_path} (Envoy's default: false)
 * @param mergeSlashes   {@code merge_slashes}: adjacent slashes in the path become one
 * @param escapedSlashes what to do with {@code %2F}, {@code %2f}, {@code %5C}, {@code %5c} in the path
 */
public record PathNormalization(boolean normalizePath, boolean mergeSlashes, EscapedSlashes escapedSlashes) {
  /** Envoy's defaults: the path is forwarded as the client sent it. */
  public static final PathNormalization NONE = new PathNormalization(false, false, EscapedSlashes.KEEP_UNCHANGED);

  /** Envoy's {@code PathWithEscapedSlashesAction} (its IMPLEMENTATION_SPECIFIC_DEFAULT is KEEP_UNCHANGED). */
  public enum EscapedSlashes {
    KEEP_UNCHANGED,
    /** 400, {@code downstream_rq_failed_path_normalization}. */
    REJECT_REQUEST,
    /** 307 to the normalized path (400 for gRPC requests), {@code downstream_rq_redirected_with_normalized_path}. */
    UNESCAPE_AND_REDIRECT,
    UNESCAPE_AND_FORWARD
  }

  public PathNormalization {
    if (escapedSlashes == null) {
      escapedSlashes = EscapedSlashes.KEEP_UNCHANGED;
    }
  }

  /** Nothing to do: every path is forwarded as sent. */
  public boolean isNone() {
    return !normalizePath && !mergeSlashes && escapedSlashes == EscapedSlashes.KEEP_UNCHANGED;
  }
}
