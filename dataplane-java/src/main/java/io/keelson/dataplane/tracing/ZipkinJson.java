package io.keelson.dataplane.tracing;

import io.keelson.dataplane.accesslog.AccessLogFormat;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;

/**
 * Zipkin's JSON v2 ({@code POST /api/v2/spans}, {@code ListOfSpans}): one object per span with traceId, id, parentId,
 * kind, name, timestamp and duration (epoch microseconds), localEndpoint and tags; {@code shared} on a SERVER span that
 * reports under its caller's span id. Stateless.
 */
final class ZipkinJson {
  private static final HexFormat HEX = HexFormat.of();

  private ZipkinJson() {}

  static byte[] encode(List<ZipkinSpan> spans) {
    StringBuilder out = new StringBuilder(spans.size() * 640);
    out.append('[');
    for (int i = 0; i < spans.size(); i++) {
      if (i > 0) {
        out.append(',');
      }
      span(spans.get(i), out);
    }
    return out.append(']').toString().getBytes(StandardCharsets.UTF_8);
  }

  private static void span(ZipkinSpan s, StringBuilder out) {
    out.append("{\"traceId\":\"");
    if (s.traceId128) {
      out.append(HEX.toHexDigits(s.traceHi));
    }
    out.append(HEX.toHexDigits(s.traceLo)).append('"');
    if (s.hasParent) {
      out.append(",\"parentId\":\"").append(HEX.toHexDigits(s.parentId)).append('"');
    }
    out.append(",\"id\":\"").append(HEX.toHexDigits(s.id)).append("\",\"kind\":\"")
        .append(s.client ? "CLIENT" : "SERVER").append('"');
    if (s.name != null && !s.name.isEmpty()) {
      out.append(",\"name\":");
      AccessLogFormat.jsonString(s.name, out);
    }
    out.append(",\"timestamp\":").append(s.timestampMicros).append(",\"duration\":").append(s.durationMicros);
    out.append(",\"localEndpoint\":{");
    boolean first = true;
    if (s.serviceName != null && !s.serviceName.isEmpty()) {
      out.append("\"serviceName\":");
      AccessLogFormat.jsonString(s.serviceName, out);
      first = false;
    }
    if (s.localIp != null) {
      out.append(first ? "" : ",").append(s.localIp.indexOf(':') >= 0 ? "\"ipv6\":" : "\"ipv4\":");
      AccessLogFormat.jsonString(s.localIp, out);
    }
    out.append('}');
    if (s.tags > 0) {
      out.append(",\"tags\":{");
      for (int i = 0; i < s.tags; i++) {
        if (i > 0) {
          out.append(',');
        }
        AccessLogFormat.jsonString(s.tagKeys[i], out);
        out.append(':');
        AccessLogFormat.jsonString(s.tagValues[i], out);
      }
      out.append('}');
    }
    if (s.shared) {
      out.append(",\"shared\":true");
    }
    out.append('}');
  }
}
