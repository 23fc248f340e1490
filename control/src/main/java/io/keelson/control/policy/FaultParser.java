package io.keelson.control.policy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Istio's {@code HTTPFaultInjection} (a VirtualService http rule's {@code fault}), read as istiod
 * translates it: a delay's share is {@code percentage.value} (or the deprecated integer
 * {@code percent}), none when both are absent; an abort's share is {@code percentage.value}, none
 * when absent (Envoy aborts no request without a percentage). Stateless.
 */
final class FaultParser {
  /** gRPC status names Istio accepts in {@code abort.grpcStatus}, in code order (OK = 0 ... UNAUTHENTICATED = 16). */
  static final List<String> GRPC_CODES = List.of("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
      "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
      "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED");

  private FaultParser() {}

  /** The rule's {@code fault}, or null when it has none (or it has errors, reported on {@code rule}). */
  static Policy.Fault istio(Fields rule) {
    Fields f = rule.object("fault", false);
    if (f == null) {
      return null;
    }
    f.allow("delay", "abort");
    Fields delay = f.object("delay", false);
    Fields abort = f.object("abort", false);
    if (delay == null && abort == null) {
      f.error(null, "a fault needs a delay or an abort (or both)");
      return null;
    }
    Duration fixed = null;
    int delayShare = 0;
    if (delay != null) {
      delay.allow(Set.of("fixedDelay", "percentage", "percent"),
          Map.of("exponentialDelay", "exponential delays are not supported (istiod drops them too); use fixedDelay"));
      fixed = PolicyParser.duration(delay, "fixedDelay");
      if (fixed == null && !delay.has("fixedDelay")) {
        delay.error("fixedDelay", "is required");
      } else if (fixed != null && fixed.compareTo(Duration.ofMillis(1)) < 0) {
        delay.error("fixedDelay", "must be at least 1ms");
      }
      if (delay.has("percentage") && delay.has("percent")) {
        delay.error("percent", "is deprecated and set together with percentage; use percentage only");
      }
      delayShare = delay.has("percentage") ? percentage(delay)
          : delay.integer("percent", 0, 100, 0) instanceof Integer p ? p * 10_000 : 0;
    }
    int http = 0;
    int grpc = -1;
    int abortShare = 0;
    if (abort != null) {
      abort.allow(Set.of("httpStatus", "grpcStatus", "percentage"),
          Map.of("http2Error", "HTTP/2 error aborts are not supported (istiod does not implement them); use httpStatus"));
      if (abort.has("httpStatus") == abort.has("grpcStatus")) {
        abort.error(null, "expected exactly one of httpStatus, grpcStatus");
      } else if (abort.has("httpStatus")) {
        http = abort.integer("httpStatus", 200, 599, 0) instanceof Integer h ? h : 0;
      } else {
        String name = abort.string("grpcStatus", true);
        grpc = name == null ? -1 : GRPC_CODES.indexOf(name);
        if (name != null && grpc < 0) {
          abort.error("grpcStatus", "'" + name + "' is not a gRPC status; expected one of " + String.join(", ", GRPC_CODES));
        }
      }
      abortShare = abort.has("percentage") ? percentage(abort) : 0;
    }
    return new Policy.Fault(fixed, delayShare, http, grpc, abortShare);
  }

  /** {@code percentage.value} (0-100, a double) in requests per million, as istiod converts it. */
  private static int percentage(Fields f) {
    Fields p = f.object("percentage", true);
    if (p == null) {
      return 0;
    }
    p.allow("value");
    Double v = p.number("value", 0, 100, 0.0);
    return v == null ? 0 : (int) (v * 10_000);
  }
}
