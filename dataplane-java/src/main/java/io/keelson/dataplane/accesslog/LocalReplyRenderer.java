package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.config.LocalReplyConfig;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.stats.ResponseFlag;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A compiled {@code local_reply_config}, as Envoy's {@code source/common/local_reply/local_reply.cc}: the first mapper whose
 * access-log filter matches the reply (its status before any rewrite, its response flag, the request's headers) rewrites
 * the status, replaces the body and adds its headers; then its body_format_override, else the config's body_format,
 * formats the body ({@code %LOCAL_REPLY_BODY%} is the body so far) and sets the content-type. Compiled once per config;
 * {@link #render} runs on an event loop and allocates only the new body. Immutable and thread-safe.
 */
public final class LocalReplyRenderer {
  private static final String TEXT_PLAIN = "text/plain";

  private final Mapper[] mappers;
  private final BodyFormat bodyFormat;
  private final String[] requestHeaders;
  private final ThreadLocal<Scratch> scratch;

  private record Mapper(AccessLogFilter filter, int status, byte[] body, String bodyText, BodyFormat format, String headerLines,
      java.util.Set<String> overwrites, boolean setsContentType) {}

  private record BodyFormat(AccessLogFormat format, String contentType) {}

  /** What {@link #render} made of a reply: one per thread, overwritten by its next call. */
  public static final class Reply {
    public int status;
    /** The body to send (content-length is its length). */
    public byte[] body;
    /** The reply's content-type when its body is not empty. */
    public String contentType;
    /** The mapper's headers as lines ({@code name: value\r\n} each), or null. */
    public String headerLines;
    /**
     * The (lower-case) names of the mapper's OVERWRITE_IF_EXISTS_OR_ADD headers: they replace a filter's or route's
     * fields of that name instead of adding a second value.
     */
    public java.util.Set<String> overwrites = java.util.Set.of();
    /**
     * The body changed and no mapper header set a content-type: {@link #contentType} replaces one the reply had (a
     * route's or a filter's), as Envoy's sendLocalReply.
     */
    public boolean replacesContentType;
  }

  private static final class Scratch {
    final AccessLogRecord record = new AccessLogRecord();
    final LineBuffer line = new LineBuffer(256);
    final Reply reply = new Reply();

    Scratch(int requestHeaders) {
      record.requestHeaders = new String[requestHeaders];
      record.logType = AccessLogRecord.DOWNSTREAM_END;
    }
  }

  private LocalReplyRenderer(LocalReplyConfig c) {
    LogFields fields = new LogFields();
    this.bodyFormat = c.bodyFormat() == null ? null : compile(c.bodyFormat(), fields, "body_format");
    this.mappers = new Mapper[c.mappers().size()];
    for (int i = 0; i < mappers.length; i++) {
      LocalReplyConfig.Mapper m = c.mappers().get(i);
      AccessLogFilter filter = AccessLogFilters.compile(m.filter(), fields);
      BodyFormat format = m.bodyFormat() == null ? null
          : compile(m.bodyFormat(), fields, "mappers[" + i + "].body_format_override");
      mappers[i] = new Mapper(filter == null ? r -> true : filter, m.statusCode(),
          m.body() == null ? null : m.body().getBytes(StandardCharsets.UTF_8), m.body(), format, headerLines(m.headersToAdd()),
          m.headersToAdd().stream().filter(h -> !h.append()).map(HeaderMutations.HeaderValue::name)
              .collect(java.util.stream.Collectors.toUnmodifiableSet()),
          m.headersToAdd().stream().anyMatch(h -> h.name().equals("content-type")));
    }
    this.requestHeaders = fields.requestHeaders.toArray(String[]::new);
    this.scratch = ThreadLocal.withInitial(() -> new Scratch(requestHeaders.length));
  }

  /**
   * The renderer of {@code c}; null when it rewrites nothing (no mapper, no body_format).
   *
   * @throws IllegalArgumentException naming the field of an operator or filter that cannot be used here
   */
  public static LocalReplyRenderer compile(LocalReplyConfig c) {
    return c == null || c.isEmpty() ? null : new LocalReplyRenderer(c);
  }

  private static BodyFormat compile(LocalReplyConfig.BodyFormat f, LogFields fields, String at) {
    int responseHeaders = fields.responseHeaders.size();
    AccessLogFormat format;
    try {
      format = AccessLogFormat.compile(f.asLogFormat(), fields.requestHeaders, fields.responseHeaders);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(at + ": " + e.getMessage(), e);
    }
    if (fields.responseHeaders.size() != responseHeaders) {
      throw new IllegalArgumentException(at + ": %RESP(...)% is not supported in a local reply body; expected"
          + " %LOCAL_REPLY_BODY%, %RESPONSE_CODE%, %REQ(...)% and the other request operators");
    }
    return new BodyFormat(format, f.contentType());
  }

  private static String headerLines(java.util.List<HeaderMutations.HeaderValue> headers) {
    if (headers.isEmpty()) {
      return null;
    }
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < headers.size(); i++) {
      HeaderMutations.HeaderValue h = headers.get(i);
      if (!overwrittenLater(headers, i)) {
        b.append(h.name()).append(": ").append(h.value()).append("\r\n");
      }
    }
    return b.toString();
  }

  /** Whether a later entry of the same mapper overwrites entry {@code i} (as Envoy applies them in order). */
  private static boolean overwrittenLater(java.util.List<HeaderMutations.HeaderValue> headers, int i) {
    for (int j = i + 1; j < headers.size(); j++) {
      if (!headers.get(j).append() && headers.get(j).name().equals(headers.get(i).name())) {
        return true;
      }
    }
    return false;
  }

  /**
   * Rewrites one local reply. The result is this thread's {@link Reply}, valid until its next call.
   *
   * @param status   the status the proxy chose
   * @param body     the body it chose (possibly empty)
   * @param request  the request head, or null when the reply answers a request that could not be parsed
   * @param uri      the request target as sent (path and query), or null
   * @param protocol "HTTP/1.1", "HTTP/2", ...
   */
  public Reply render(int status, byte[] body, ResponseFlag flag, RequestHead request, String uri, String protocol) {
    Scratch s = scratch.get();
    AccessLogRecord r = s.record;
    r.startEpochMillis = System.currentTimeMillis();
    r.status = status;
    r.flag = flag;
    r.method = request == null ? null : request.method();
    r.path = uri;
    r.protocol = protocol;
    r.copyRequestHeaders(requestHeaders, request, uri);
    Reply out = s.reply;
    out.status = status;
    out.body = body;
    out.headerLines = null;
    out.overwrites = java.util.Set.of();
    String bodyText = null;
    BodyFormat format = bodyFormat;
    boolean customContentType = false;
    for (Mapper m : mappers) {
      if (m.filter().test(r)) {
        if (m.status() != 0) {
          out.status = m.status();
          r.status = m.status(); // as Envoy: %RESPONSE_CODE% in the body is the rewritten code
        }
        if (m.body() != null) {
          out.body = m.body();
          bodyText = m.bodyText();
        }
        out.headerLines = m.headerLines();
        out.overwrites = m.overwrites();
        customContentType = m.setsContentType();
        if (m.format() != null) {
          format = m.format();
        }
        break;
      }
    }
    if (format == null) {
      out.contentType = TEXT_PLAIN;
    } else {
      r.localReplyBody = bodyText != null ? bodyText : new String(out.body, StandardCharsets.UTF_8);
      s.line.setLength(0);
      format.format().format(r, s.line);
      out.body = Arrays.copyOf(s.line.array(), s.line.length());
      out.contentType = format.contentType();
    }
    out.replacesContentType = out.body.length > 0 && !customContentType && !Arrays.equals(out.body, body);
    Arrays.fill(r.requestHeaders, null); // no request outlives its reply in the scratch
    r.localReplyBody = null;
    return out;
  }
}
