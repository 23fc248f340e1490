package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.config.AccessLogConfig;
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

  enum Kind {
    LITERAL, START_TIME, REQ, RESP, PROTOCOL, RESPONSE_CODE, RESPONSE_FLAGS, BYTES_RECEIVED, BYTES_SENT, DURATION,
    UPSTREAM_HOST, UPSTREAM_CLUSTER, DOWNSTREAM_REMOTE_ADDRESS, DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT,
    DOWNSTREAM_LOCAL_ADDRESS, DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT, ROUTE_NAME, REQUESTED_SERVER_NAME,
    UPSTREAM_LOCAL_ADDRESS, DOWNSTREAM_TLS_VERSION, DOWNSTREAM_PEER_URI_SAN, LOCAL_REPLY_BODY
  }

  /** One piece of a format: a literal, or an operator with its header slots and truncation. */
  record Op(Kind kind, String literal, int header, int fallbackHeader, int maxLength, byte[] bytes) {
    Op(Kind kind, String literal, int header, int fallbackHeader, int maxLength) {
      this(kind, literal, header, fallbackHeader, maxLength,
          literal == null ? null : literal.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
  }

  /** The ops of a text format, or of each JSON value. */
  private final Op[] text;
  /** Each JSON key as the bytes {@code "key":} (escaped once, here) and its value's ops, in order. */
  private final byte[][] jsonKeys;
  private final Op[][] jsonValues;

  private AccessLogFormat(List<Op> text, Map<String, List<Op>> json) {
    this.text = text == null ? null : text.toArray(Op[]::new);
    this.jsonKeys = json == null ? null : new byte[json.size()][];
    this.jsonValues = json == null ? null : new Op[json.size()][];
    if (json != null) {
      int i = 0;
      for (Map.Entry<String, List<Op>> e : json.entrySet()) {
        StringBuilder b = new StringBuilder();
        jsonString(e.getKey(), b);
        jsonKeys[i] = b.append(':').toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        jsonValues[i++] = e.getValue().toArray(Op[]::new);
      }
    }
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
        if (k == Kind.LOCAL_REPLY_BODY) {
          b.append(" (local_reply_config body formats only)");
        }
      }
    }
    return b.toString();
  }

  /** Appends one line for {@code r} as UTF-8 bytes (JSON lines end with a newline; text formats carry their own). */
  void format(AccessLogRecord r, LineBuffer out) {
    if (text != null) {
      for (Op op : text) {
        appendText(op, r, out);
      }
      return;
    }
    out.put((byte) '{');
    for (int i = 0; i < jsonKeys.length; i++) {
      if (i > 0) {
        out.put((byte) ',');
      }
      out.put(jsonKeys[i]);
      Op[] ops = jsonValues[i];
      if (ops.length == 1 && appendNumber(ops[0], r, out)) {
        continue;
      }
      LineBuffer s = out.scratch();
      if (ops.length == 1 && ops[0].kind() != Kind.LITERAL) {
        if (!appendValue(ops[0], r, s)) {
          out.put(NULL);
          continue;
        }
      } else {
        for (Op op : ops) {
          appendText(op, r, s);
        }
      }
      out.put((byte) '"');
      out.putJsonEscaped(s.array(), 0, s.length());
      out.put((byte) '"');
    }
    out.put(JSON_END);
  }

  /** The line as a String (tests and benchmarks). */
  String format(AccessLogRecord r) {
    LineBuffer b = new LineBuffer(256);
    format(r, b);
    return new String(b.array(), 0, b.length(), java.nio.charset.StandardCharsets.UTF_8);
  }

  private static final byte[] NULL = {'n', 'u', 'l', 'l'};
  private static final byte[] JSON_END = {'}', '\n'};

  private static void appendText(Op op, AccessLogRecord r, LineBuffer out) {
    if (!appendNumber(op, r, out) && !appendValue(op, r, out)) {
      out.put((byte) '-');
    }
  }

  /**
   * The numeric operators, appended as digits: no boxing and no toString per field on the writer
   * thread (it shares the proxy's cores). False for the other operators.
   */
  private static boolean appendNumber(Op op, AccessLogRecord r, LineBuffer out) {
    switch (op.kind()) {
      case RESPONSE_CODE -> out.put(r.status);
      case BYTES_RECEIVED -> out.put(r.bytesReceived);
      case BYTES_SENT -> out.put(r.bytesSent);
      case DURATION -> out.put(r.durationNanos / 1_000_000);
      default -> {
        return false;
      }
    }
    return true;
  }

  /** Appends a non-numeric operator's value (truncated to its maximum length); false, writing nothing, when absent. */
  private static boolean appendValue(Op op, AccessLogRecord r, LineBuffer out) {
    int max = op.maxLength();
    switch (op.kind()) {
      case LITERAL -> out.put(op.bytes());
      case START_TIME -> {
        if (max >= 0 && max < 24) {
          int at = out.length();
          out.putStartTime(r.startEpochMillis);
          out.setLength(at + max);
        } else {
          out.putStartTime(r.startEpochMillis);
        }
      }
      case REQ -> {
        return string(header(r.requestHeaders, op), max, out);
      }
      case RESP -> {
        return string(header(r.responseHeaders, op), max, out);
      }
      case PROTOCOL -> {
        return string(r.protocol, max, out);
      }
      case RESPONSE_FLAGS -> {
        return string(r.flag.code, max, out);
      }
      case UPSTREAM_HOST -> {
        if (max < 0 && r.upstreamHost instanceof io.keelson.dataplane.config.EndpointConfig e) {
          out.put(e.host()); // no host:port string per line
          out.put((byte) ':');
          out.put(e.port());
          return true;
        }
        return string(r.upstreamHost == null ? null : r.upstreamHost.toString(), max, out);
      }
      case UPSTREAM_CLUSTER -> {
        return string(r.upstreamCluster, max, out);
      }
      case DOWNSTREAM_REMOTE_ADDRESS -> {
        return string(r.downstreamRemoteAddress, max, out);
      }
      case DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT -> {
        String a = r.downstreamRemoteAddress;
        if (a == null) {
          return false;
        }
        int colon = a.lastIndexOf(':');
        int n = colon < 0 ? a.length() : colon;
        out.put(a, max >= 0 ? Math.min(max, n) : n);
      }
      case DOWNSTREAM_LOCAL_ADDRESS, DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT, UPSTREAM_LOCAL_ADDRESS -> {
        java.net.InetSocketAddress a = op.kind() == Kind.UPSTREAM_LOCAL_ADDRESS ? r.upstreamLocalAddress : r.downstreamLocalAddress;
        if (a == null || a.getAddress() == null) {
          return false;
        }
        String ip = a.getAddress().getHostAddress(); // on the writer thread
        String text = op.kind() == Kind.DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT ? ip
            : (a.getAddress() instanceof java.net.Inet6Address ? "[" + ip + "]" : ip) + ":" + a.getPort();
        return string(text, max, out);
      }
      case DOWNSTREAM_TLS_VERSION -> {
        return string(r.downstreamTlsVersion, max, out);
      }
      case DOWNSTREAM_PEER_URI_SAN -> {
        return string(r.downstreamPeerUriSan, max, out);
      }
      case REQUESTED_SERVER_NAME -> {
        return string(r.requestedServerName, max, out);
      }
      case LOCAL_REPLY_BODY -> {
        return string(r.localReplyBody, max, out);
      }
      case ROUTE_NAME -> {
        return string(r.routeName == null || r.routeName.isEmpty() ? null : r.routeName, max, out);
      }
      default -> {
        return false; // the numeric operators, appended by appendNumber
      }
    }
    return true;
  }

  private static boolean string(String s, int max, LineBuffer out) {
    if (s == null) {
      return false;
    }
    out.put(s, max);
    return true;
  }

  private static String header(String[] values, Op op) {
    String v = op.header() < values.length ? values[op.header()] : null;
    if (v == null && op.fallbackHeader() >= 0 && op.fallbackHeader() < values.length) {
      v = values[op.fallbackHeader()];
    }
    return v;
  }

  /** Appends {@code s} as a JSON string literal. */
  public static void jsonString(String s, StringBuilder out) {
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
