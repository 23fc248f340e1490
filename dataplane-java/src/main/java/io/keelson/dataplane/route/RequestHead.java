package io.keelson.dataplane.route;

/**
 * What route matching reads of a request. Implemented by the protocol codecs; read on the thread
 * that runs the route stage, while the codec does not touch it.
 */
public interface RequestHead {
  /** Upper-case method token, e.g. {@code GET}. */
  String method();

  /** The path without the query string, as sent (not decoded), e.g. {@code /api/v1/items}. */
  String path();

  /** The raw query string without '?', or null when the request has none. */
  String query();

  /** The Host header (HTTP/1.1) or :authority (HTTP/2), as sent, possibly with a port; null when absent. */
  String authority();

  /**
   * The request's scheme as Envoy's {@code :scheme} has it: HTTP/2's {@code :scheme} as the client sent it; for
   * HTTP/1.x {@code https} when the downstream connection is TLS, else {@code http}. Null when unknown (heads built
   * by tests or filters that do not know their connection).
   */
  default String scheme() {
    return null;
  }

  /**
   * All values of a header joined with ',' (Envoy's header-matcher semantics), or null when absent.
   *
   * @param lowerCaseName header name in lower case
   */
  String header(String lowerCaseName);
}
