package io.keelson.dataplane.route;

/**
 * A compiled Envoy RouteMatch: path (path / prefix / safe_regex), headers, query parameters.
 * Immutable and thread-safe; {@link #matches} allocates nothing.
 */
public interface RouteMatch {
  boolean matches(RequestHead head);

  /**
   * With the dynamic metadata the filters left (null: none), for a route chosen again after a filter cleared the
   * route cache; a match without {@code dynamic_metadata} matchers ignores it.
   */
  default boolean matches(RequestHead head, io.keelson.dataplane.filter.DynamicMetadata metadata) {
    return matches(head);
  }

  /**
   * For prefix_rewrite: how many leading characters of the path this match consumed (the prefix
   * length for a prefix match, the whole path for an exact path match), or -1 when not applicable.
   */
  int matchedPrefixLength(RequestHead head);
}
