package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.TracingConfig;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.route.RequestHead;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The proxy hop's span in a trace: read from W3C {@code traceparent} (with {@code tracestate} passed on
 * unchanged), B3 single ({@code b3}) or B3 multi ({@code x-b3-*}) headers, and written back onto the
 * upstream request with this hop's span as the parent, in the format(s) that came in (W3C when none
 * did). Sampling honours the parent's decision; without one, {@code random_sampling} decides.
 * Event-loop confined; one per traced exchange.
 *
 * @param traceId      32 lower-case hex digits
 * @param spanId       this hop's span, 16 hex digits
 * @param parentSpanId the caller's span, or null at the root
 */
public record TraceContext(String traceId, String spanId, String parentSpanId, boolean sampled) {

  /** Where the propagation headers for the upstream request are written. */
  @FunctionalInterface
  public interface Setter {
    void set(String name, String value);

    /**
     * Sets the header to the Latin-1 bytes {@code value[0, length)}, which stay unchanged until this
     * hop's next exchange: a setter that can send bytes keeps the array instead of building a String.
     */
    default void setLatin1(String name, byte[] value, int length) {
      set(name, new String(value, 0, length, StandardCharsets.ISO_8859_1));
    }
  }

  /** Reads the incoming context, starts this hop's span and rewrites the propagation headers. */
  public static TraceContext propagate(Http1Request request, TracingConfig config) {
    return propagate(request, request.headers()::set, config);
  }

  /**
   * Reads the incoming context from {@code request}, starts this hop's span and writes the
   * propagation headers through {@code upstream} (the same request's headers, for any protocol).
   */
  public static TraceContext propagate(RequestHead request, Setter upstream, TracingConfig config) {
    Hop hop = new Hop();
    propagate(request, upstream, config, hop);
    return new TraceContext(hop.traceId(), hop.spanId(), hop.parentSpanId(), hop.sampled);
  }

  /**
   * This hop's ids as numbers, reused across the exchanges of one connection or stream, so that an
   * unsampled request allocates only the propagated header value: the id strings a span needs are built
   * only when it is sampled. Event-loop confined.
   */
  public static final class Hop {
    private final byte[] buf = new byte[96]; // the longest value: a B3 single header, 68 chars
    /** The {@code traceparent} sent upstream, kept until the next exchange (the setter may hold on to it). */
    private final byte[] traceparent = new byte[55];
    long traceHi;
    long traceLo;
    long span;
    long parent;
    boolean hasParent;
    boolean sampled;
    /** The incoming B3 context's own parent (x-b3-parentspanid, b3's fourth field): a shared span's parent. */
    long incomingParent;
    boolean hasIncomingParent;
    /** This hop reports under the caller's span id (Zipkin's shared_span_context on an inbound hop). */
    boolean shared;
    /** The trace id has 128 bits (else 64: a 64-bit B3 id came in, or Zipkin without trace_id_128bit started it). */
    boolean traceId128;

    public boolean sampled() {
      return sampled;
    }

    /** 32 lower-case hex digits. */
    public String traceId() {
      writeHex(buf, 0, traceHi);
      writeHex(buf, 16, traceLo);
      return new String(buf, 0, 32, StandardCharsets.ISO_8859_1);
    }

    public String spanId() {
      return hex16(span);
    }

    /** The caller's span, or null at the root. */
    public String parentSpanId() {
      return hasParent ? hex16(parent) : null;
    }

    private String hex16(long v) {
      writeHex(buf, 0, v);
      return new String(buf, 0, 16, StandardCharsets.ISO_8859_1);
    }
  }

  /**
   * Reads the incoming context, picks this hop's span id and sampling decision into {@code hop}, and
   * writes the propagation headers through {@code upstream}. Without B3 headers this allocates nothing
   * when the setter takes bytes ({@link Setter#setLatin1}), else the {@code traceparent} value.
   *
   * @return whether this hop's span is sampled
   */
  public static boolean propagate(RequestHead request, Setter upstream, TracingConfig config, Hop hop) {
    boolean found = false;
    hop.hasParent = false;
    hop.hasIncomingParent = false;
    hop.shared = false;
    io.keelson.dataplane.config.ZipkinTracing zipkin = config.zipkin();
    int sampled = -1; // -1: no decision came in; 0 or 1
    boolean w3c = false;
    boolean b3Single = false;
    boolean b3Multi = false;
    int b3TraceLength = 32; // B3 allows 64-bit ids; passed on as they came
    String tp = request.header("traceparent");
    if (tp != null && tp.length() == 55 && tp.charAt(2) == '-' && tp.charAt(35) == '-' && tp.charAt(52) == '-'
        && hex(tp, 3, 35) && hex(tp, 36, 52) && hex(tp, 53, 55) && !tp.startsWith("ff")) {
      hop.traceHi = parseHex(tp, 3, 19);
      hop.traceLo = parseHex(tp, 19, 35);
      hop.parent = parseHex(tp, 36, 52);
      hop.hasParent = true;
      sampled = Character.digit(tp.charAt(54), 16) & 1;
      found = true;
      w3c = true;
    }
    String b3 = request.header("b3");
    if (b3 != null) {
      int d1 = b3.indexOf('-');
      if (d1 < 0) {
        if (b3.equals("0") || b3.equals("1") || b3.equals("d")) {
          sampled = sampled >= 0 ? sampled : b3.equals("0") ? 0 : 1; // a bare sampling decision
          b3Single = true;
        }
      } else {
        int d2 = b3.indexOf('-', d1 + 1);
        int spanEnd = d2 < 0 ? b3.length() : d2;
        if ((d1 == 16 || d1 == 32) && hex(b3, 0, d1) && spanEnd - d1 - 1 == 16 && hex(b3, d1 + 1, spanEnd)) {
          if (!found) {
            hop.traceHi = d1 == 16 ? 0 : parseHex(b3, 0, 16);
            hop.traceLo = parseHex(b3, d1 - 16, d1);
            b3TraceLength = d1;
            hop.parent = parseHex(b3, d1 + 1, spanEnd);
            hop.hasParent = true;
            found = true;
            if (d2 >= 0) {
              int d3 = b3.indexOf('-', d2 + 1);
              int end = d3 < 0 ? b3.length() : d3;
              if (end > d2 + 1) {
                sampled = end == d2 + 2 && b3.charAt(d2 + 1) == '0' ? 0 : 1;
              }
              if (d3 >= 0 && b3.length() - d3 - 1 == 16 && hex(b3, d3 + 1, b3.length())) {
                hop.incomingParent = parseHex(b3, d3 + 1, b3.length());
                hop.hasIncomingParent = true;
              }
            }
          }
          b3Single = true;
        }
      }
    }
    String xTrace = request.header("x-b3-traceid");
    String xSpan = request.header("x-b3-spanid");
    if (xTrace != null && xSpan != null && (xTrace.length() == 16 || xTrace.length() == 32) && hex(xTrace, 0, xTrace.length())
        && xSpan.length() == 16 && hex(xSpan, 0, 16)) {
      if (!found) {
        int n = xTrace.length();
        hop.traceHi = n == 16 ? 0 : parseHex(xTrace, 0, 16);
        hop.traceLo = parseHex(xTrace, n - 16, n);
        b3TraceLength = n;
        hop.parent = parseHex(xSpan, 0, 16);
        hop.hasParent = true;
        found = true;
        String p = request.header("x-b3-parentspanid");
        if (p != null && p.length() == 16 && hex(p, 0, 16)) {
          hop.incomingParent = parseHex(p, 0, 16);
          hop.hasIncomingParent = true;
        }
        String s = request.header("x-b3-sampled");
        String flags = request.header("x-b3-flags");
        if ("1".equals(flags)) {
          sampled = 1;
        } else if (s != null) {
          sampled = s.equals("1") || s.equalsIgnoreCase("true") ? 1 : 0;
        }
      }
      b3Multi = true;
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    if (!found) {
      // Zipkin starts 64-bit traces unless trace_id_128bit, as Envoy's
      b3TraceLength = zipkin != null && !zipkin.traceId128() ? 16 : 32;
      hop.traceHi = b3TraceLength == 16 ? 0 : random.nextLong() | 1;
      hop.traceLo = b3TraceLength == 16 ? random.nextLong() | 1 : random.nextLong();
      hop.hasParent = false;
    }
    hop.traceId128 = b3TraceLength == 32;
    if (sampled < 0) {
      sampled = config.samplingPercent() >= 100 || random.nextDouble() * 100 < config.samplingPercent() ? 1 : 0;
    }
    hop.span = random.nextLong() | 1;
    if (zipkin != null) {
      b3Multi = true; // Envoy's zipkin tracer injects x-b3-* (and passes on the other formats that came in)
      if (zipkin.sharedSpanContext() && !config.egress() && found) {
        hop.span = hop.parent; // Envoy's ingress span shares the caller's context: its id and its parent
        hop.parent = hop.incomingParent;
        hop.hasParent = hop.hasIncomingParent;
        hop.shared = true;
      }
    }
    boolean s = sampled == 1;
    hop.sampled = s;
    byte[] b = hop.traceparent;
    if (w3c || (!b3Single && !b3Multi)) {
      b[0] = '0';
      b[1] = '0';
      b[2] = '-';
      writeHex(b, 3, hop.traceHi);
      writeHex(b, 19, hop.traceLo);
      b[35] = '-';
      writeHex(b, 36, hop.span);
      b[52] = '-';
      b[53] = '0';
      b[54] = (byte) (s ? '1' : '0');
      upstream.setLatin1("traceparent", b, 55);
    }
    b = hop.buf;
    if (b3Single) {
      int n = writeTraceId(b, hop, b3TraceLength);
      b[n++] = '-';
      writeHex(b, n, hop.span);
      n += 16;
      b[n++] = '-';
      b[n++] = (byte) (s ? '1' : '0');
      if (hop.hasParent) {
        b[n++] = '-';
        writeHex(b, n, hop.parent);
        n += 16;
      }
      upstream.set("b3", new String(b, 0, n, StandardCharsets.ISO_8859_1));
    }
    if (b3Multi) {
      upstream.set("x-b3-traceid", new String(b, 0, writeTraceId(b, hop, b3TraceLength), StandardCharsets.ISO_8859_1));
      writeHex(b, 0, hop.span);
      upstream.set("x-b3-spanid", new String(b, 0, 16, StandardCharsets.ISO_8859_1));
      if (hop.hasParent) {
        writeHex(b, 0, hop.parent);
        upstream.set("x-b3-parentspanid", new String(b, 0, 16, StandardCharsets.ISO_8859_1));
      }
      upstream.set("x-b3-sampled", s ? "1" : "0");
    }
    return s;
  }

  /** Writes the trace id at the start of {@code b}: its low 64 bits only when it came as a 64-bit B3 id. */
  private static int writeTraceId(byte[] b, Hop hop, int length) {
    if (length == 16) {
      writeHex(b, 0, hop.traceLo);
      return 16;
    }
    writeHex(b, 0, hop.traceHi);
    writeHex(b, 16, hop.traceLo);
    return 32;
  }

  private static final byte[] DIGITS = "0123456789abcdef".getBytes(StandardCharsets.ISO_8859_1);

  /** 16 lower-case hex digits of {@code v} at {@code b[at..at+16)}. */
  static void writeHex(byte[] b, int at, long v) {
    for (int i = 15; i >= 0; i--) {
      b[at + i] = DIGITS[(int) (v & 0xf)];
      v >>>= 4;
    }
  }

  /** The value of the (already validated) hex digits {@code s[from..to)}, at most 16. */
  private static long parseHex(String s, int from, int to) {
    long v = 0;
    for (int i = from; i < to; i++) {
      v = (v << 4) | Character.digit(s.charAt(i), 16);
    }
    return v;
  }

  private static boolean hex(String s, int from, int to) {
    boolean nonZero = false;
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
      nonZero |= c != '0';
    }
    return nonZero || to - from == 2; // all-zero trace and span ids are invalid; flags may be 00
  }
}
