package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.TracingConfig;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.route.RequestHead;
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
    String traceId = null;
    String parent = null;
    Boolean sampled = null;
    boolean w3c = false;
    boolean b3Single = false;
    boolean b3Multi = false;
    String b3TraceId = null; // B3 allows 64-bit ids; passed on as they came
    String tp = request.header("traceparent");
    if (tp != null && tp.length() == 55 && tp.charAt(2) == '-' && tp.charAt(35) == '-' && tp.charAt(52) == '-'
        && hex(tp, 3, 35) && hex(tp, 36, 52) && hex(tp, 53, 55) && !tp.startsWith("ff")) {
      traceId = tp.substring(3, 35);
      parent = tp.substring(36, 52);
      sampled = (Integer.parseInt(tp.substring(53, 55), 16) & 1) == 1;
      w3c = true;
    }
    String b3 = request.header("b3");
    if (b3 != null) {
      String[] p = b3.split("-");
      if (p.length == 1 && (p[0].equals("0") || p[0].equals("1") || p[0].equals("d"))) {
        sampled = sampled != null ? sampled : !p[0].equals("0"); // a bare sampling decision
        b3Single = true;
      } else if (p.length >= 2 && (p[0].length() == 16 || p[0].length() == 32) && hex(p[0], 0, p[0].length())
          && p[1].length() == 16 && hex(p[1], 0, 16)) {
        if (traceId == null) {
          traceId = p[0].length() == 16 ? "0000000000000000" + p[0] : p[0];
          b3TraceId = p[0];
          parent = p[1];
          if (p.length >= 3) {
            sampled = !p[2].equals("0");
          }
        }
        b3Single = true;
      }
    }
    String xTrace = request.header("x-b3-traceid");
    String xSpan = request.header("x-b3-spanid");
    if (xTrace != null && xSpan != null && (xTrace.length() == 16 || xTrace.length() == 32) && hex(xTrace, 0, xTrace.length())
        && xSpan.length() == 16 && hex(xSpan, 0, 16)) {
      if (traceId == null) {
        traceId = xTrace.length() == 16 ? "0000000000000000" + xTrace : xTrace;
        b3TraceId = xTrace;
        parent = xSpan;
        String s = request.header("x-b3-sampled");
        String flags = request.header("x-b3-flags");
        if ("1".equals(flags)) {
          sampled = true;
        } else if (s != null) {
          sampled = s.equals("1") || s.equalsIgnoreCase("true");
        }
      }
      b3Multi = true;
    }
    ThreadLocalRandom random = ThreadLocalRandom.current();
    if (traceId == null) {
      traceId = hex16(random.nextLong() | 1) + hex16(random.nextLong());
      parent = null;
    }
    if (sampled == null) {
      sampled = config.samplingPercent() >= 100 || random.nextDouble() * 100 < config.samplingPercent();
    }
    String span = hex16(random.nextLong() | 1);
    String b3Trace = b3TraceId != null ? b3TraceId : traceId;
    boolean s = sampled;
    if (w3c || (!b3Single && !b3Multi)) {
      upstream.set("traceparent", "00-" + traceId + "-" + span + (s ? "-01" : "-00"));
    }
    if (b3Single) {
      upstream.set("b3", b3Trace + "-" + span + (s ? "-1" : "-0") + (parent != null ? "-" + parent : ""));
    }
    if (b3Multi) {
      upstream.set("x-b3-traceid", b3Trace);
      upstream.set("x-b3-spanid", span);
      if (parent != null) {
        upstream.set("x-b3-parentspanid", parent);
      }
      upstream.set("x-b3-sampled", s ? "1" : "0");
    }
    return new TraceContext(traceId, span, parent, s);
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

  private static String hex16(long v) {
    String h = Long.toHexString(v);
    return h.length() == 16 ? h : "0".repeat(16 - h.length()) + h;
  }
}
