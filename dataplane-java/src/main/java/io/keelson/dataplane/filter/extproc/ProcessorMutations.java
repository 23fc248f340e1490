package io.keelson.dataplane.filter.extproc;

import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.config.core.v3.HeaderValue;
import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.ext_proc.v3.HeaderMutation;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.filter.CheckedRequest;
import io.keelson.dataplane.filter.ServerHeaderField;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * A processor's {@code HeaderMutation} checked against Envoy's default {@code mutation_rules}
 * ({@code HeaderMutationRules} unset): {@code host}, {@code :authority}, {@code :scheme}, {@code :method} and
 * {@code x-envoy-*} may not be set or removed, no pseudo-header may be removed, and a field with CR, LF or NUL is
 * never applied. A disallowed mutation is skipped and counted ({@code rejected_header_mutations}), as Envoy ignores
 * it. {@code :path} (which Envoy lets a processor set) is refused the same way: Keelson does not rewrite the path
 * from a filter; so are {@code content-length} and {@code transfer-encoding}, which would reframe the body the proxy
 * forwards as it read it. Stateless.
 */
final class ProcessorMutations {
  private ProcessorMutations() {}

  /**
   * The request header changes of {@code m}; {@code present} holds the request's lower-case header names (for
   * ADD_IF_ABSENT and OVERWRITE_IF_EXISTS).
   */
  static HeaderMutations forRequest(HeaderMutation m, Set<String> present, LongAdder rejected) {
    return checked(m, present, rejected, false);
  }

  /**
   * The response header changes of {@code m}, as {@link #forRequest}, with no pseudo-header set either: Keelson does
   * not let a processor change {@code :status}, so one is skipped and counted.
   */
  static HeaderMutations forResponse(HeaderMutation m, Set<String> present, LongAdder rejected) {
    return checked(m, present, rejected, true);
  }

  private static HeaderMutations checked(HeaderMutation m, Set<String> present, LongAdder rejected, boolean response) {
    if (m.getSetHeadersCount() == 0 && m.getRemoveHeadersCount() == 0) {
      return HeaderMutations.NONE;
    }
    List<String> remove = new ArrayList<>(m.getRemoveHeadersCount());
    for (String name : m.getRemoveHeadersList()) {
      String lower = name.toLowerCase(Locale.ROOT);
      if (lower.startsWith(":") || !mayChange(lower)) {
        rejected.increment();
      } else {
        remove.add(lower);
      }
    }
    List<HeaderMutations.HeaderValue> add = new ArrayList<>(m.getSetHeadersCount());
    for (HeaderValueOption h : m.getSetHeadersList()) {
      String name = h.getHeader().getKey().toLowerCase(Locale.ROOT);
      String value = value(h.getHeader());
      if (!mayChange(name) || (response && name.startsWith(":")) || !ServerHeaderField.valid(name, value)) {
        rejected.increment();
        continue;
      }
      boolean exists = present.contains(name) && !remove.contains(name);
      if (h.hasAppend()) {
        add.add(new HeaderMutations.HeaderValue(name, value, h.getAppend().getValue()));
        continue;
      }
      switch (h.getAppendAction()) {
        case ADD_IF_ABSENT -> {
          if (!exists) {
            add.add(new HeaderMutations.HeaderValue(name, value, false));
          }
        }
        case OVERWRITE_IF_EXISTS -> {
          if (exists) {
            add.add(new HeaderMutations.HeaderValue(name, value, false));
          }
        }
        case OVERWRITE_IF_EXISTS_OR_ADD -> add.add(new HeaderMutations.HeaderValue(name, value, false));
        default -> add.add(new HeaderMutations.HeaderValue(name, value, true)); // APPEND_IF_EXISTS_OR_ADD, the default
      }
    }
    return new HeaderMutations(add, remove);
  }

  /**
   * The header lines ({@code name: value\r\n}) of an immediate response's headers, or null for none. As Envoy's
   * permissive checker for immediate responses (routing and x-envoy-* headers allowed), only fields that cannot go on a
   * reply as they are (pseudo-headers, bad names, CR/LF/NUL) are skipped and counted.
   */
  static String replyLines(HeaderMutation m, LongAdder rejected) {
    StringBuilder lines = new StringBuilder();
    for (HeaderValueOption h : m.getSetHeadersList()) {
      String name = h.getHeader().getKey().toLowerCase(Locale.ROOT);
      String value = value(h.getHeader());
      if (!ServerHeaderField.valid(name, value)) {
        rejected.increment();
      } else {
        lines.append(name).append(": ").append(value).append("\r\n");
      }
    }
    return lines.isEmpty() ? null : lines.toString();
  }

  /**
   * Adds every non-pseudo header field to {@code headers} (lower-case names, raw_value) and its name to
   * {@code present}; whether the fields announce a body (a non-zero content-length or a transfer-encoding).
   */
  static boolean fields(CheckedRequest.HeaderSource source, HeaderMap.Builder headers, Set<String> present) {
    boolean[] body = {false};
    source.forEach((name, value) -> {
      String lower = name.toLowerCase(Locale.ROOT);
      if (lower.startsWith(":")) {
        return;
      }
      present.add(lower);
      if ((lower.equals("content-length") && !value.trim().equals("0")) || lower.equals("transfer-encoding")) {
        body[0] = true;
      }
      headers.addHeaders(ProcessorStream.field(lower, value));
    });
    return body[0];
  }

  /** Envoy's default rules: no routing header (Host, :authority, :scheme, :method), no x-envoy-* header; no framing. */
  private static boolean mayChange(String lower) {
    return !ServerHeaderField.framing(lower) && !lower.equals("host") && !lower.equals(":authority") && !lower.equals(":scheme") && !lower.equals(":method")
        && !lower.startsWith("x-envoy");
  }

  /** raw_value when set (what Envoy sends and prefers), else value. */
  static String value(HeaderValue h) {
    return h.getRawValue().isEmpty() ? h.getValue() : h.getRawValue().toString(StandardCharsets.UTF_8);
  }

}
