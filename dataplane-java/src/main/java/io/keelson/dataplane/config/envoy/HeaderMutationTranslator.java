package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.keelson.dataplane.config.HeaderMutations;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** Translates Envoy's *_headers_to_add / *_headers_to_remove pairs. Stateless. */
final class HeaderMutationTranslator {
  private HeaderMutationTranslator() {}

  /**
   * @param path     path of the message holding the pair
   * @param kind     "request" or "response"
   */
  static HeaderMutations translate(
      List<HeaderValueOption> add, List<String> remove, String path, String kind, Problems problems) {
    if (add.isEmpty() && remove.isEmpty()) {
      return HeaderMutations.NONE;
    }
    List<HeaderMutations.HeaderValue> values = additions(add, path + "." + kind + "_headers_to_add", problems);
    List<String> removed = new ArrayList<>();
    for (int i = 0; i < remove.size(); i++) {
      String name = remove.get(i).toLowerCase(Locale.ROOT);
      if (name.isEmpty() || name.startsWith(":") || (kind.equals("request") && name.equals("host"))) {
        problems.error(path + "." + kind + "_headers_to_remove[" + i + "]",
            "'" + remove.get(i) + "' cannot be removed; expected a regular header name other than host");
        continue;
      }
      removed.add(name);
    }
    return new HeaderMutations(values, removed);
  }

  /**
   * The headers of a {@code repeated HeaderValueOption} field at {@code path} (append or append_action); bad entries are
   * reported and left out.
   */
  static List<HeaderMutations.HeaderValue> additions(List<HeaderValueOption> add, String path, Problems problems) {
    return additions(add, path, Set.of(), problems);
  }

  /**
   * Headers a local reply may not add: its framing and connection management are the proxy's own, and an added copy
   * would frame the reply twice (or is illegal on HTTP/2).
   */
  static final Set<String> LOCAL_REPLY_REFUSED =
      Set.of("content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "host");

  /** As {@link #additions(List, String, Problems)}, also refusing the (lower-case) names in {@code refused}. */
  static List<HeaderMutations.HeaderValue> additions(
      List<HeaderValueOption> add, String path, Set<String> refused, Problems problems) {
    List<HeaderMutations.HeaderValue> values = new ArrayList<>();
    for (int i = 0; i < add.size(); i++) {
      HeaderValueOption option = add.get(i);
      String at = path + "[" + i + "]";
      String name = option.getHeader().getKey().toLowerCase(Locale.ROOT);
      if (name.isEmpty()) {
        problems.error(at + ".header.key", "a header name is required");
        continue;
      }
      if (name.startsWith(":")) {
        problems.error(at + ".header.key", "pseudo-header '" + name + "' cannot be added; expected a regular header name");
        continue;
      }
      if (refused.contains(name)) {
        problems.error(at + ".header.key", "'" + name + "' cannot be added here; the proxy frames the message itself");
        continue;
      }
      if (!wellFormed(option.getHeader().getKey(), option.getHeader().getValue(), at + ".header", problems)) {
        continue;
      }
      boolean append = true;
      if (option.hasAppend()) {
        if (option.getAppendAction() != HeaderValueOption.HeaderAppendAction.APPEND_IF_EXISTS_OR_ADD) {
          problems.error(at, "both append and append_action are set; expected only append_action");
          continue;
        }
        append = option.getAppend().getValue();
      } else {
        switch (option.getAppendAction()) {
          case APPEND_IF_EXISTS_OR_ADD -> append = true;
          case OVERWRITE_IF_EXISTS_OR_ADD -> append = false;
          default -> {
            problems.error(at + ".append_action", option.getAppendAction()
                + " is not supported; expected one of APPEND_IF_EXISTS_OR_ADD, OVERWRITE_IF_EXISTS_OR_ADD");
            continue;
          }
        }
      }
      values.add(new HeaderMutations.HeaderValue(name, option.getHeader().getValue(), append));
    }
    return values;
  }

  /**
   * Whether a configured header is safe to write into a message head: the name of RFC 9110 token characters and the
   * value without CR, LF or NUL (Envoy's HeaderValue rules); otherwise reports it at {@code at}.key / .value.
   */
  static boolean wellFormed(String name, String value, String at, Problems problems) {
    if (!HeaderMutations.isToken(name)) {
      problems.error(at + ".key", "'" + name
          + "' is not a header name; expected token characters only (letters, digits, !#$%&'*+-.^_`|~)");
      return false;
    }
    if (value.indexOf('\r') >= 0 || value.indexOf('\n') >= 0 || value.indexOf('\0') >= 0) {
      problems.error(at + ".value", "holds CR, LF or NUL; expected a header value on one line");
      return false;
    }
    return true;
  }
}
