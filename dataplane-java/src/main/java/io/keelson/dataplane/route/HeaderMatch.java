package io.keelson.dataplane.route;

import java.util.Locale;

/**
 * Envoy's HeaderMatcher. {@code :method}, {@code :authority}, {@code :path} and {@code :scheme} read the request's
 * method, authority, path (with {@code ?query}, as Envoy's {@code :path} header has it) and scheme
 * ({@link RequestHead#scheme}).
 * Immutable and thread-safe; matching allocates nothing except for {@code :path} on a request with a
 * query string.
 *
 * <p>Semantics follow Envoy: a value matcher never matches an absent header, inverted or not (unless
 * {@code treatMissingAsEmpty}); a presence matcher matches when presence equals {@code present},
 * then {@code invert} flips the result.
 */
public final class HeaderMatch {
  private static final int HEADER = 0;
  private static final int METHOD = 1;
  private static final int AUTHORITY = 2;
  private static final int PATH = 3;
  private static final int SCHEME = 4;

  private final String name;
  private final int source;
  private final ValueMatch value;
  private final boolean present;
  private final boolean invert;
  private final boolean treatMissingAsEmpty;

  private HeaderMatch(
      String name, ValueMatch value, boolean present, boolean invert, boolean treatMissingAsEmpty) {
    this.name = name.toLowerCase(Locale.ROOT);
    this.source = sourceOf(this.name);
    this.value = value;
    this.present = present;
    this.invert = invert;
    this.treatMissingAsEmpty = treatMissingAsEmpty;
  }

  /** Matches when the header's (comma-joined) value satisfies {@code value}. */
  public static HeaderMatch value(
      String name, ValueMatch value, boolean invert, boolean treatMissingAsEmpty) {
    return new HeaderMatch(name, value, true, invert, treatMissingAsEmpty);
  }

  /** Envoy's RouteMatch.grpc: the content-type starts with application/grpc. */
  public static HeaderMatch grpc() {
    return value("content-type", ValueMatch.prefix("application/grpc", false), false, false);
  }

  /** Matches when the header's presence equals {@code present}. */
  public static HeaderMatch presence(String name, boolean present, boolean invert) {
    return new HeaderMatch(name, null, present, invert, false);
  }

  /** Whether a header name is one this matcher can read: a plain name or one of the supported pseudo-headers. */
  public static boolean isSupportedName(String name) {
    return !name.startsWith(":") || sourceOf(name.toLowerCase(Locale.ROOT)) != HEADER;
  }

  private static int sourceOf(String lowerName) {
    return switch (lowerName) {
      case ":method" -> METHOD;
      case ":authority" -> AUTHORITY;
      case ":path" -> PATH;
      case ":scheme" -> SCHEME;
      default -> HEADER;
    };
  }

  public boolean matches(RequestHead head) {
    String v = read(head);
    if (value == null) {
      return (v != null) == present != invert;
    }
    if (v == null) {
      if (!treatMissingAsEmpty) {
        return false;
      }
      v = "";
    }
    return value.matches(v) != invert;
  }

  private String read(RequestHead head) {
    return read(head, source, name);
  }

  /**
   * The value of header {@code lowerName} of {@code head}, reading the supported pseudo-headers ({@code :method},
   * {@code :authority}, {@code :path} with its query, {@code :scheme}) as Envoy does; null when absent.
   */
  public static String valueOf(RequestHead head, String lowerName) {
    return read(head, lowerName.startsWith(":") ? sourceOf(lowerName) : HEADER, lowerName);
  }

  private static String read(RequestHead head, int source, String name) {
    return switch (source) {
      case METHOD -> head.method();
      case AUTHORITY -> head.authority();
      case SCHEME -> head.scheme();
      case PATH -> {
        String query = head.query();
        yield query == null ? head.path() : head.path() + '?' + query;
      }
      default -> head.header(name);
    };
  }

  public String name() {
    return name;
  }

  /** Value equality, so configs holding a matcher (an access log's header_filter) compare equal across translations. */
  @Override
  public boolean equals(Object o) {
    return o instanceof HeaderMatch m && name.equals(m.name) && java.util.Objects.equals(value, m.value)
        && present == m.present && invert == m.invert && treatMissingAsEmpty == m.treatMissingAsEmpty;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(name, value, present, invert, treatMissingAsEmpty);
  }

  @Override
  public String toString() {
    return "HeaderMatch[" + name + (value == null ? " present=" + present : " " + value)
        + (invert ? " inverted" : "") + "]";
  }
}
