package io.keelson.bench.jmh;

import io.keelson.dataplane.route.RequestHead;

/** A fixed request head for benchmarks: one optional header, no allocation on reads. Not thread-safe. */
final class BenchRequest implements RequestHead {
  private final String method;
  private final String path;
  private final String query;
  private final String authority;
  private final String headerName;
  private final String headerValue;

  BenchRequest(String method, String path, String query, String authority, String headerName, String headerValue) {
    this.method = method;
    this.path = path;
    this.query = query;
    this.authority = authority;
    this.headerName = headerName;
    this.headerValue = headerValue;
  }

  @Override
  public String method() {
    return method;
  }

  @Override
  public String path() {
    return path;
  }

  @Override
  public String query() {
    return query;
  }

  @Override
  public String authority() {
    return authority;
  }

  @Override
  public String header(String lowerCaseName) {
    return lowerCaseName.equals(headerName) ? headerValue : null;
  }
}
