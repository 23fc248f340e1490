package io.keelson.dataplane.config;

import java.util.List;

/**
 * Envoy's request_headers_to_add / _remove (or response_*). Immutable.
 *
 * @param add     headers to add, in order
 * @param remove  lower-case header names to remove (applied before add)
 */
public record HeaderMutations(List<HeaderValue> add, List<String> remove) {
  public static final HeaderMutations NONE = new HeaderMutations(List.of(), List.of());

  public HeaderMutations {
    add = List.copyOf(add);
    remove = List.copyOf(remove);
  }

  /** Whether {@code name} is an RFC 9110 token, what a header name may hold (non-empty). */
  public static boolean isToken(String name) {
    if (name.isEmpty()) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (!(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || "!#$%&'*+-.^_`|~".indexOf(c) >= 0)) {
        return false;
      }
    }
    return true;
  }

  public boolean isEmpty() {
    return add.isEmpty() && remove.isEmpty();
  }

  /**
   * One header to add.
   *
   * @param name   lower-case name
   * @param append true: add another value (APPEND_IF_EXISTS_OR_ADD); false: replace (OVERWRITE_IF_EXISTS_OR_ADD)
   */
  public record HeaderValue(String name, String value, boolean append) {}
}
