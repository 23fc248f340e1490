package io.keelson.dataplane.tracing;

import io.opentelemetry.sdk.trace.IdGenerator;

/**
 * Hands the SDK the trace and span ids the proxy chose (and already wrote into the upstream request),
 * so the exported span and the propagated context agree. Set just before {@code startSpan} on the same
 * thread. Thread-safe through thread confinement.
 */
final class HopIds implements IdGenerator {
  private static final ThreadLocal<String[]> NEXT = ThreadLocal.withInitial(() -> new String[2]);

  static void set(String traceId, String spanId) {
    String[] n = NEXT.get();
    n[0] = traceId;
    n[1] = spanId;
  }

  @Override
  public String generateSpanId() {
    String[] n = NEXT.get();
    String s = n[1];
    n[1] = null;
    return s != null ? s : IdGenerator.random().generateSpanId();
  }

  @Override
  public String generateTraceId() {
    String[] n = NEXT.get();
    String t = n[0];
    n[0] = null;
    return t != null ? t : IdGenerator.random().generateTraceId();
  }
}
