package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.accesslog.v3.AccessLog;
import io.envoyproxy.envoy.config.core.v3.SubstitutionFormatString;
import io.envoyproxy.envoy.extensions.access_loggers.file.v3.FileAccessLog;
import io.envoyproxy.envoy.extensions.access_loggers.stream.v3.StdoutAccessLog;
import io.keelson.dataplane.accesslog.AccessLogFormat;
import io.keelson.dataplane.config.AccessLogConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Translates an access_log list (HTTP connection manager, tcp_proxy, listener); formats are compiled here to report mistakes. Stateless. */
final class AccessLogTranslator {
  private AccessLogTranslator() {}

  static List<AccessLogConfig> translate(List<AccessLog> logs, String path, Problems problems) {
    List<AccessLogConfig> out = new ArrayList<>();
    for (int i = 0; i < logs.size(); i++) {
      String at = path + "[" + i + "]";
      AccessLog log = logs.get(i);
      if (!log.hasTypedConfig()) {
        problems.error(at + ".typed_config", "an access log needs a typed_config; expected "
            + FileAccessLog.getDescriptor().getFullName() + " or " + StdoutAccessLog.getDescriptor().getFullName());
        continue;
      }
      try {
        var any = log.getTypedConfig();
        AccessLogConfig c;
        if (any.is(FileAccessLog.class)) {
          FileAccessLog f = any.unpack(FileAccessLog.class);
          if (f.getPath().isEmpty()) {
            problems.error(at + ".typed_config.path", "a file access log needs a path (/dev/stdout for standard output)");
            continue;
          }
          String file = f.getPath().equals("/dev/stdout") ? null : f.getPath();
          c = logFormat(file, f.hasLogFormat() ? f.getLogFormat() : null, at + ".typed_config.log_format", problems);
        } else if (any.is(StdoutAccessLog.class)) {
          StdoutAccessLog s = any.unpack(StdoutAccessLog.class);
          c = logFormat(null, s.hasLogFormat() ? s.getLogFormat() : null, at + ".typed_config.log_format", problems);
        } else {
          problems.error(at + ".typed_config", "access logger " + any.getTypeUrl() + " is not supported; expected "
              + FileAccessLog.getDescriptor().getFullName() + " or " + StdoutAccessLog.getDescriptor().getFullName());
          continue;
        }
        if (c != null && log.hasFilter()) {
          var filter = AccessLogFilterTranslator.translate(log.getFilter(), at + ".filter", problems);
          c = filter == null ? null : c.withFilter(filter);
        }
        if (c != null) {
          out.add(c);
        }
      } catch (InvalidProtocolBufferException e) {
        problems.error(at + ".typed_config", "cannot read: " + e.getMessage());
      }
    }
    return out;
  }

  private static AccessLogConfig logFormat(String file, SubstitutionFormatString f, String at, Problems problems) {
    if (f != null && !f.getContentType().isEmpty()) {
      problems.warn(at + ".content_type", "ignored: an access log line has no content type");
    }
    AccessLogConfig c = format(file, f, at, problems);
    if (c != null && (c.textFormat() != null ? c.textFormat().contains("%LOCAL_REPLY_BODY")
        : c.jsonFormat().values().stream().anyMatch(v -> v.contains("%LOCAL_REPLY_BODY")))) {
      problems.error(at, "%LOCAL_REPLY_BODY% is not supported in access logs (only in the connection manager's"
          + " local_reply_config body formats)");
      return null;
    }
    return c;
  }

  /**
   * The log of {@code f} (Envoy's default format when null) to {@code file}, its operators compiled; null after reporting
   * a mistake under {@code at}.
   */
  static AccessLogConfig format(String file, SubstitutionFormatString f, String at, Problems problems) {
    AccessLogConfig c;
    if (f == null) {
      c = new AccessLogConfig(file, AccessLogConfig.ENVOY_DEFAULT_FORMAT, null);
    } else if (f.hasJsonFormat()) {
      Map<String, String> json = new LinkedHashMap<>();
      for (Map.Entry<String, Value> e : f.getJsonFormat().getFieldsMap().entrySet()) {
        if (e.getValue().getKindCase() != Value.KindCase.STRING_VALUE) {
          problems.error(at + ".json_format." + e.getKey(), "expected a format string (nested objects are not supported yet)");
          return null;
        }
        json.put(e.getKey(), e.getValue().getStringValue());
      }
      c = new AccessLogConfig(file, null, json);
    } else if (f.hasTextFormatSource()) {
      String text = DataSources.text(f.getTextFormatSource(), at + ".text_format_source", problems);
      if (text == null) {
        return null;
      }
      c = new AccessLogConfig(file, text, null);
    } else {
      c = new AccessLogConfig(file, f.getTextFormat().isEmpty() ? AccessLogConfig.ENVOY_DEFAULT_FORMAT : f.getTextFormat(), null);
    }
    try {
      AccessLogFormat.compile(c);
    } catch (IllegalArgumentException e) {
      problems.error(at, e.getMessage());
      return null;
    }
    return c;
  }
}
