package io.keelson.dataplane.route;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** A request head for tests: method, path?query, authority and headers. Not thread-safe. */
public final class TestRequest implements RequestHead {
  private final String method;
  private final String path;
  private final String query;
  private final String authority;
  private final Map<String, String> headers = new LinkedHashMap<>();
  private String scheme;

  private TestRequest(String method, String target, String authority) {
    this.method = method;
    int q = target.indexOf('?');
    this.path = q < 0 ? target : target.substring(0, q);
    this.query = q < 0 ? null : target.substring(q + 1);
    this.authority = authority;
  }

  public static TestRequest get(String target) {
    return new TestRequest("GET", target, "example.com");
  }

  public static TestRequest request(String method, String target, String authority) {
    return new TestRequest(method, target, authority);
  }

  /** Adds a header; a second value for the same name is joined with ',' as Envoy does. */
  public TestRequest header(String name, String value) {
    headers.merge(name.toLowerCase(Locale.ROOT), value, (a, b) -> a + "," + b);
    return this;
  }

  /** Sets the request's {@code :scheme} (null, unknown, until set). */
  public TestRequest scheme(String value) {
    scheme = value;
    return this;
  }

  @Override
  public String scheme() {
    return scheme;
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
    return headers.get(lowerCaseName);
  }
}
