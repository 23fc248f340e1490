package io.keelson.dataplane.http2;

import io.keelson.dataplane.route.RequestHead;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.HttpConversionUtil;
import java.util.List;

/**
 * Route matching's view of an HTTP/2 request once converted to Netty's HTTP objects (:authority is
 * then the host header, :path the URI). Read on the route stage's thread while the stream waits.
 */
final class H2RequestHead implements RequestHead {
  private final HttpRequest request;
  private final String method;
  private final String path;
  private final String query;
  /** The client's :scheme, read before the forwarded request's headers replace it with the upstream hop's. */
  private final String scheme;

  H2RequestHead(HttpRequest request) {
    this.request = request;
    this.method = request.method().name();
    String uri = request.uri();
    int q = uri.indexOf('?');
    this.path = q < 0 ? uri : uri.substring(0, q);
    this.query = q < 0 ? null : uri.substring(q + 1);
    this.scheme = request.headers().get(HttpConversionUtil.ExtensionHeaderNames.SCHEME.text());
  }

  HttpRequest request() {
    return request;
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
    return request.headers().get(HttpHeaderNames.HOST);
  }

  @Override
  public String scheme() {
    return scheme;
  }

  @Override
  public String header(String lowerCaseName) {
    List<String> all = request.headers().getAll(lowerCaseName);
    if (all.isEmpty()) {
      return null;
    }
    return all.size() == 1 ? all.get(0) : String.join(",", all);
  }
}
