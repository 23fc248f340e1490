package io.keelson.dataplane.route;

import java.util.List;

/**
 * A compiled Envoy RouteMatch: a path matcher, then every header matcher, then every query
 * parameter matcher, then every dynamic metadata matcher (all must match). Immutable and thread-safe;
 * {@link #matches} allocates nothing (see {@link HeaderMatch} and {@link QueryMatch} for the two rare exceptions).
 */
public final class RequestMatcher implements RouteMatch {
  private final PathMatch path;
  private final HeaderMatch[] headers;
  private final QueryMatch[] queries;
  private final MetadataMatch[] metadata;

  public RequestMatcher(PathMatch path, List<HeaderMatch> headers, List<QueryMatch> queries) {
    this(path, headers, queries, List.of());
  }

  public RequestMatcher(PathMatch path, List<HeaderMatch> headers, List<QueryMatch> queries, List<MetadataMatch> metadata) {
    this.path = path;
    this.headers = headers.toArray(new HeaderMatch[0]);
    this.queries = queries.toArray(new QueryMatch[0]);
    this.metadata = metadata.toArray(new MetadataMatch[0]);
  }

  /** Only a path matcher. */
  public static RequestMatcher path(PathMatch path) {
    return new RequestMatcher(path, List.of(), List.of());
  }

  @Override
  public boolean matches(RequestHead head) {
    return matches(head, null);
  }

  @Override
  public boolean matches(RequestHead head, io.keelson.dataplane.filter.DynamicMetadata dynamicMetadata) {
    if (path == PathMatch.Connect.INSTANCE ? !isConnect(head) : !path.matches(head.path())) {
      return false;
    }
    for (HeaderMatch h : headers) {
      if (!h.matches(head)) {
        return false;
      }
    }
    for (QueryMatch q : queries) {
      if (!q.matches(head)) {
        return false;
      }
    }
    for (MetadataMatch m : metadata) {
      if (!m.matches(dynamicMetadata)) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code head} is a CONNECT request (Envoy: only connect_matcher routes match those). */
  public static boolean isConnect(RequestHead head) {
    return "CONNECT".equals(head.method());
  }

  /** Whether this is a connect_matcher route's match. */
  public boolean connect() {
    return path == PathMatch.Connect.INSTANCE;
  }

  @Override
  public int matchedPrefixLength(RequestHead head) {
    return path.matchedPrefixLength(head.path());
  }

  boolean hasNoHeaderOrQueryMatchers() {
    return headers.length == 0 && queries.length == 0 && metadata.length == 0;
  }

  public PathMatch pathMatch() {
    return path;
  }

  public List<HeaderMatch> headers() {
    return List.of(headers);
  }

  public List<QueryMatch> queries() {
    return List.of(queries);
  }

  public List<MetadataMatch> metadata() {
    return List.of(metadata);
  }

  @Override
  public String toString() {
    return "RequestMatcher[" + path + ", headers=" + List.of(headers) + ", query=" + List.of(queries)
        + (metadata.length == 0 ? "" : ", dynamic_metadata=" + List.of(metadata)) + "]";
  }
}
