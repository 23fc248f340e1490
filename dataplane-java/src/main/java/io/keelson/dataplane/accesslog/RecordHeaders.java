package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.route.RequestHead;

/**
 * The request head of an {@link AccessLogRecord} as the route's matchers read it: the header values the event loop
 * copied for the logger ({@link AccessLogger#requestHeaders()}), so a header_filter reuses {@code route.HeaderMatch}.
 * {@code path()} is the path as sent, query included, so {@code :path} reads as Envoy's header. A flyweight: one per
 * filter, pointed at each record in turn on the one writer thread. Not thread-safe.
 */
final class RecordHeaders implements RequestHead {
  private final String[] names;
  private AccessLogRecord record;

  RecordHeaders(String[] names) {
    this.names = names;
  }

  RecordHeaders of(AccessLogRecord r) {
    record = r;
    return this;
  }

  @Override
  public String method() {
    return record.method;
  }

  @Override
  public String path() {
    return record.path;
  }

  @Override
  public String query() {
    return null;
  }

  @Override
  public String authority() {
    return header(":authority");
  }

  @Override
  public String scheme() {
    return header(":scheme");
  }

  @Override
  public String header(String lowerCaseName) {
    for (int i = 0; i < names.length; i++) {
      if (names[i].equals(lowerCaseName)) {
        return i < record.requestHeaders.length ? record.requestHeaders[i] : null;
      }
    }
    return null;
  }
}
