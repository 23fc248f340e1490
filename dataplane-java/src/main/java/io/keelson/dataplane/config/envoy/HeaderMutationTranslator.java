package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.keelson.dataplane.config.HeaderMutations;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

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
}
