package io.keelson.dataplane.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The connection manager's {@code local_reply_config}: how the proxy's own replies (no route, no healthy upstream, a
 * filter's 403 or 429, ...) are rewritten before they are sent. Immutable.
 *
 * @param mappers    tried in order; the first whose filter matches rewrites the reply
 * @param bodyFormat the body format of every local reply a mapper does not override; null keeps the body as is
 *                   (Envoy's default {@code %LOCAL_REPLY_BODY%} as text/plain)
 */
public record LocalReplyConfig(List<Mapper> mappers, BodyFormat bodyFormat) {
  /** No local_reply_config: replies go out as the proxy makes them. */
  public static final LocalReplyConfig NONE = new LocalReplyConfig(List.of(), null);

  public LocalReplyConfig {
    mappers = List.copyOf(mappers);
  }

  public boolean isEmpty() {
    return mappers.isEmpty() && bodyFormat == null;
  }

  /**
   * One {@code mappers[]} entry.
   *
   * @param filter       which replies it rewrites (an access log filter evaluated on the reply)
   * @param statusCode   the status the client gets instead; 0 keeps the reply's
   * @param body         the body instead of the reply's ({@code %LOCAL_REPLY_BODY%}); null keeps it
   * @param bodyFormat   body_format_override; null uses the config's body_format
   * @param headersToAdd response headers added to the reply
   */
  public record Mapper(AccessLogFilterConfig filter, int statusCode, String body, BodyFormat bodyFormat,
      List<HeaderMutations.HeaderValue> headersToAdd) {
    public Mapper {
      headersToAdd = List.copyOf(headersToAdd);
    }
  }

  /**
   * A {@code SubstitutionFormatString}: exactly one of a text format and a JSON format (keys to format strings).
   *
   * @param contentType the reply's content-type; Envoy's default is text/plain for text and application/json for JSON
   */
  public record BodyFormat(String textFormat, Map<String, String> jsonFormat, String contentType) {
    public BodyFormat {
      if ((textFormat == null) == (jsonFormat == null)) {
        throw new IllegalArgumentException("a body format has exactly one of a text and a JSON format");
      }
      if (jsonFormat != null) {
        jsonFormat = Collections.unmodifiableMap(new LinkedHashMap<>(jsonFormat));
      }
      if (contentType == null || contentType.isEmpty()) {
        contentType = textFormat != null ? "text/plain" : "application/json";
      }
    }

    /** The same operators as an access log format, which compiles them. */
    public AccessLogConfig asLogFormat() {
      return new AccessLogConfig(null, textFormat, jsonFormat);
    }
  }
}
