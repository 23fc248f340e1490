package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.config.AccessLogConfig;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A compiled Envoy access log format (text, or JSON whose values are format strings). Compiled once at
 * config load; {@link #format} runs on the writer thread. Immutable and thread-safe.
 */
public final class AccessLogFormat {
  private static final Pattern OPERATOR = Pattern.compile("([A-Z_]+)(?:\\(([^)]*)\\))?(?::(\\d+))?");
  private static final DateTimeFormatter START_TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  enum Kind {
    LITERAL, START_TIME, REQ, RESP, PROTOCOL, RESPONSE_CODE, RESPONSE_FLAGS, BYTES_RECEIVED, BYTES_SENT, DURATION,
    UPSTREAM_HOST, UPSTREAM_CLUSTER, DOWNSTREAM_REMOTE_ADDRESS, DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT, ROUTE_NAME
  }

  /** One piece of a format: a literal, or an operator with its header slots and truncation. */
  record Op(Kind kind, String literal, int header, int fallbackHeader, int maxLength) {}

  /** The ops of a text format, or of each JSON value. */
  private final List<Op> text;
  private final Map<String, List<Op>> json;

  private AccessLogFormat(List<Op> text, Map<String, List<Op>> json) {
    this.text = text;
    this.json = json;
  }

  /** Compiles and checks a format; throws IllegalArgumentException naming the bad operator. */
  public static AccessLogFormat compile(AccessLogConfig c) {
    return compile(c, new ArrayList<>(), new ArrayList<>());
  }

  /** Compiles, adding the header names the format reads to the given lists (shared by one logger's formats). */
  static AccessLogFormat compile(AccessLogConfig c, List<String> requestHeaders, List<String> responseHeaders) {
    if (c.textFormat() != null) {
      return new AccessLogFormat(ops(c.textFormat(), requestHeaders, responseHeaders), null);
    }
    Map<String, List<Op>> json = new LinkedHashMap<>();
    c.jsonFormat().forEach((k, v) -> json.put(k, ops(v, requestHeaders, responseHeaders)));
    return new AccessLogFormat(null, json);
  }

  private static List<Op> ops(String format, List<String> req, List<String> resp) {
    List<Op> ops = new ArrayList<>();
    int i = 0;
    while (i < format.length()) {
      int open = format.indexOf('%', i);
      if (open < 0) {
        ops.add(new Op(Kind.LITERAL, format.substring(i), -1, -1, -1));
        break;
      }
      if (open > i) {
        ops.add(new Op(Kind.LITERAL, format.substring(i, open), -1, -1, -1));
      }
      int close = format.indexOf('%', open + 1);
      if (close < 0) {
        throw new IllegalArgumentException("unterminated operator at \"" + format.substring(open) + "\"; expected %NAME%");
      }
      ops.add(op(format.substring(open + 1, close), req, resp));
      i = close + 1;
    }
    return ops;
  }

  private static Op op(String token, List<String> req, List<String> resp) {
    Matcher m = OPERATOR.matcher(token);
    if (!m.matches()) {
      throw new IllegalArgumentException("cannot parse operator %" + token + "%; expected %NAME%, %NAME(ARG)% or %NAME(ARG):N%");
    }
    Kind kind;
    try {
      kind = Kind.valueOf(m.group(1));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("operator %" + m.group(1) + "% is not supported; supported: " + supported());
    }
    if (kind == Kind.LITERAL) {
      throw new IllegalArgumentException("operator %LITERAL% is not supported; supported: " + supported());
    }
    int max = m.group(3) == null ? -1 : Integer.parseInt(m.group(3));
    String arg = m.group(2);
    if (kind == Kind.REQ || kind == Kind.RESP) {
      if (arg == null || arg.isEmpty()) {
        throw new IllegalArgumentException("%" + kind + "% needs a header name, e.g. %" + kind + "(USER-AGENT)%");
      }
      List<String> names = kind == Kind.REQ ? req : resp;
      String[] alt = arg.split("\\?", 2);
      int main = slot(names, alt[0]);
      int fallback = alt.length > 1 ? slot(names, alt[1]) : -1;
      return new Op(kind, null, main, fallback, max);
    }
    if (arg != null) {
      throw new IllegalArgumentException("%" + kind + "% takes no argument here, got (" + arg + ")");
    }
    return new Op(kind, null, -1, -1, max);
  }

  private static int slot(List<String> names, String header) {
    String n = header.toLowerCase(java.util.Locale.ROOT);
    int i = names.indexOf(n);
    if (i < 0) {
      names.add(n);
      i = names.size() - 1;
    }
    return i;
  }

  private static String supported() {
    StringBuilder b = new StringBuilder();
    for (Kind k : Kind.values()) {
      if (k != Kind.LITERAL) {
        b.append(b.isEmpty() ? "" : ", ").append('%').append(k).append(k == Kind.REQ || k == Kind.RESP ? "(X)" : "").append('%');
      }
    }
    return b.toString();
  }

  /** Appends one line for {@code r} (JSON lines end with a newline; text formats carry their own). */
  void format(AccessLogRecord r, StringBuilder out) {
    if (text != null) {
      for (Op op : text) {
        appendText(op, r, out);
      }
      return;
    }
    out.append('{');
    boolean first = true;
    for (Map.Entry<String, List<Op>> e : json.entrySet()) {
      if (!first) {
        out.append(',');
      }
      first = false;
      jsonString(e.getKey(), out);
      out.append(':');
      List<Op> ops = e.getValue();
      if (ops.size() == 1 && appendNumber(ops.get(0), r, out)) {
        continue;
      }
      if (ops.size() == 1 && ops.get(0).kind() != Kind.LITERAL) {
        Object v = value(ops.get(0), r);
        if (v == null) {
          out.append("null");
        } else if (v instanceof Number n) {
          out.append(n);
        } else {
          jsonString(v.toString(), out);
        }
      } else {
        StringBuilder s = new StringBuilder();
        for (Op op : ops) {
          appendText(op, r, s);
        }
        jsonString(s.toString(), out);
      }
    }
    out.append("}\n");
  }

  private static void appendText(Op op, AccessLogRecord r, StringBuilder out) {
    if (op.kind() == Kind.LITERAL) {
      out.append(op.literal());
      return;
    }
    if (appendNumber(op, r, out)) {
      return;
    }
    if (op.kind() == Kind.UPSTREAM_HOST && op.maxLength() < 0
        && r.upstreamHost instanceof io.keelson.dataplane.config.EndpointConfig e) {
      out.append(e.host()).append(':').append(e.port()); // no host:port string per line
      return;
    }
    Object v = value(op, r);
    out.append(v == null ? "-" : v);
  }

  /**
   * The numeric operators, appended as primitives: no boxing and no toString per field on the
   * writer thread (it shares the proxy's cores). False for the other operators.
   */
  private static boolean appendNumber(Op op, AccessLogRecord r, StringBuilder out) {
    switch (op.kind()) {
      case RESPONSE_CODE -> out.append(r.status);
      case BYTES_RECEIVED -> out.append(r.bytesReceived);
      case BYTES_SENT -> out.append(r.bytesSent);
      case DURATION -> out.append(r.durationNanos / 1_000_000);
      default -> {
        return false;
      }
    }
    return true;
  }

  private static Object value(Op op, AccessLogRecord r) {
    Object v = switch (op.kind()) {
      case LITERAL -> op.literal();
      case START_TIME -> startTime(r.startEpochMillis);
      case REQ -> header(r.requestHeaders, op, r);
      case RESP -> header(r.responseHeaders, op, r);
      case PROTOCOL -> r.protocol;
      case RESPONSE_CODE -> r.status;
      case RESPONSE_FLAGS -> r.flag.code;
      case BYTES_RECEIVED -> r.bytesReceived;
      case BYTES_SENT -> r.bytesSent;
      case DURATION -> r.durationNanos / 1_000_000;
      case UPSTREAM_HOST -> r.upstreamHost == null ? null : r.upstreamHost.toString();
      case UPSTREAM_CLUSTER -> r.upstreamCluster;
      case DOWNSTREAM_REMOTE_ADDRESS -> r.downstreamRemoteAddress;
      case DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT -> withoutPort(r.downstreamRemoteAddress);
      case ROUTE_NAME -> r.routeName == null || r.routeName.isEmpty() ? null : r.routeName;
    };
    if (op.maxLength() >= 0 && v instanceof String s && s.length() > op.maxLength()) {
      v = s.substring(0, op.maxLength());
    }
    return v;
  }

  /** The writer thread's last formatted start time: most records of a busy second share their millisecond. */
  private static final ThreadLocal<Object[]> LAST_START = ThreadLocal.withInitial(() -> new Object[] {-1L, ""});

  private static String startTime(long millis) {
    Object[] last = LAST_START.get();
    if ((Long) last[0] != millis) {
      last[0] = millis;
      last[1] = START_TIME.format(java.time.Instant.ofEpochMilli(millis));
    }
    return (String) last[1];
  }

  private static String header(String[] values, Op op, AccessLogRecord r) {
    String v = op.header() < values.length ? values[op.header()] : null;
    if (v == null && op.fallbackHeader() >= 0 && op.fallbackHeader() < values.length) {
      v = values[op.fallbackHeader()];
    }
    return v;
  }

  private static String withoutPort(String address) {
    if (address == null) {
      return null;
    }
    int colon = address.lastIndexOf(':');
    return colon < 0 ? address : address.substring(0, colon);
  }

  private static void jsonString(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
