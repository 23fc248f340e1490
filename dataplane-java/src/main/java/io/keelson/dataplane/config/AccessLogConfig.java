package io.keelson.dataplane.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One access log of an HTTP connection manager ({@code envoy.access_loggers.file} or
 * {@code envoy.access_loggers.stdout}). Exactly one of {@code textFormat} and {@code jsonFormat} is set.
 * Immutable.
 *
 * @param path       the file to append to; null writes to standard output
 * @param textFormat Envoy's format string (command operators such as {@code %RESPONSE_CODE%})
 * @param jsonFormat JSON object keys to format strings, in order; null for a text format
 * @param filter     which entries are written ({@code filter}); null writes every entry
 */
public record AccessLogConfig(String path, String textFormat, Map<String, String> jsonFormat, AccessLogFilterConfig filter) {
  /** Envoy's default access log format. */
  public static final String ENVOY_DEFAULT_FORMAT =
      "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS%"
          + " %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\""
          + " \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

  /** A log that writes every entry. */
  public AccessLogConfig(String path, String textFormat, Map<String, String> jsonFormat) {
    this(path, textFormat, jsonFormat, null);
  }

  /** This log with {@code filter}. */
  public AccessLogConfig withFilter(AccessLogFilterConfig filter) {
    return new AccessLogConfig(path, textFormat, jsonFormat, filter);
  }

  public AccessLogConfig {
    if ((textFormat == null) == (jsonFormat == null)) {
      throw new IllegalArgumentException("an access log has exactly one of a text and a JSON format");
    }
    if (jsonFormat != null) {
      jsonFormat = Collections.unmodifiableMap(new LinkedHashMap<>(jsonFormat));
    }
  }
}
