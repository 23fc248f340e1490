package io.keelson.dataplane.edge;

/**
 * The four operations {@link DownstreamAddress} needs on a request's header map, so that one implementation of
 * Envoy's rules serves both the HTTP/1.1 codec's headers and Netty's (HTTP/2). Implementations are stateless
 * singletons; header names are lower case.
 *
 * @param <H> the header map type
 */
public interface HeaderAccess<H> {
  /** All values of {@code name} joined with ',' (one header line as it arrived, several as Envoy joins them), or null. */
  String getAll(H headers, String name);

  boolean contains(H headers, String name);

  /** True when some header's name starts with {@code prefix} (lower case). */
  boolean containsPrefix(H headers, String prefix);

  /** Replaces every value of {@code name} with {@code value}. */
  void set(H headers, String name, String value);

  void remove(H headers, String name);
}
