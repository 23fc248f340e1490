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

  /** True when some header's name starts with {@code prefix} (lower case); see {@link #nameStartsWith}. */
  boolean containsPrefix(H headers, String prefix);

  /** Replaces every value of {@code name} with {@code value}. */
  void set(H headers, String name, String value);

  void remove(H headers, String name);

  /**
   * True when header name {@code name} starts with {@code prefix}, case ignored as {@link String#regionMatches(boolean,
   * int, String, int, int)} ignores it; the test behind every {@link #containsPrefix}. Allocation-free.
   */
  static boolean nameStartsWith(CharSequence name, String prefix) {
    int n = prefix.length();
    if (name.length() < n) {
      return false;
    }
    if (name instanceof String s) {
      return s.regionMatches(true, 0, prefix, 0, n);
    }
    // Another CharSequence (Netty's AsciiString): String.regionMatches' rule char by char; for these ASCII prefixes
    // the same answer as AsciiString's own ASCII-only folding, since no char up to 0xFF folds onto an ASCII letter.
    for (int i = 0; i < n; i++) {
      char a = name.charAt(i);
      char b = prefix.charAt(i);
      if (a != b && Character.toUpperCase(a) != Character.toUpperCase(b)
          && Character.toLowerCase(a) != Character.toLowerCase(b)) {
        return false;
      }
    }
    return true;
  }
}
