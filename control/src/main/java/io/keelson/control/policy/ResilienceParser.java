package io.keelson.control.policy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The resilience fields of policies: Istio {@code retries}, {@code connectionPool} and
 * {@code outlierDetection}; Gateway API {@code retry} and {@code timeouts.backendRequest}. Unsupported
 * fields are rejected by name. Stateless.
 */
final class ResilienceParser {
  /** Istio's retry_on when {@code retries.retryOn} is not set. */
  static final List<String> ISTIO_DEFAULT_RETRY_ON =
      List.of("connect-failure", "refused-stream", "unavailable", "cancelled", "retriable-status-codes");
  private static final Set<String> CONDITIONS = Set.of("5xx", "gateway-error", "reset", "connect-failure",
      "retriable-4xx", "refused-stream", "retriable-status-codes", "cancelled", "deadline-exceeded",
      "resource-exhausted", "unavailable");

  private ResilienceParser() {}

  /** Istio VirtualService {@code http[].retries}; null when absent or attempts is 0 (retries off). */
  static Policy.Retry istioRetries(Fields r) {
    Fields f = r.object("retries", false);
    if (f == null) {
      return null;
    }
    f.allow(Set.of("attempts", "perTryTimeout", "retryOn", "retryRemoteLocalities"), Map.of());
    if (f.has("retryRemoteLocalities")) {
      f.warn("retryRemoteLocalities", "ignored: Keelson does not balance by locality");
    }
    Integer attempts = f.integer("attempts", 0, 1000, 0);
    Duration perTry = PolicyParser.duration(f, "perTryTimeout");
    List<String> on = new ArrayList<>();
    List<Integer> codes = new ArrayList<>();
    String retryOn = f.string("retryOn", false);
    if (retryOn == null) {
      on.addAll(ISTIO_DEFAULT_RETRY_ON);
    } else {
      for (String c : retryOn.split(",")) {
        String s = c.strip();
        if (s.matches("\\d{3}")) {
          codes.add(Integer.parseInt(s));
          if (!on.contains("retriable-status-codes")) {
            on.add("retriable-status-codes");
          }
        } else if (CONDITIONS.contains(s)) {
          on.add(s);
        } else {
          f.error("retryOn", "'" + s + "' is not supported; expected HTTP status codes or " + String.join(", ", CONDITIONS.stream().sorted().toList()));
        }
      }
    }
    if (attempts == null || attempts == 0) {
      return null;
    }
    return new Policy.Retry(attempts, List.copyOf(on), List.copyOf(codes), perTry, null);
  }

  /**
   * Gateway API HTTPRoute rule {@code retry} (codes, attempts, backoff) and {@code timeouts.backendRequest}
   * (each try's timeout); null when neither is set.
   */
  static Policy.Retry httpRouteRetry(Fields rule, Duration backendRequest) {
    Fields f = rule.object("retry", false);
    if (f == null) {
      return backendRequest == null ? null : new Policy.Retry(0, List.of(), List.of(), backendRequest, null);
    }
    f.allow("codes", "attempts", "backoff");
    List<Integer> codes = f.integers("codes", 400, 599);
    Integer attempts = f.integer("attempts", 0, 1000, 1);
    Duration backoff = PolicyParser.duration(f, "backoff");
    List<String> on = codes.isEmpty() ? List.of("connect-failure") : List.of("connect-failure", "retriable-status-codes");
    return new Policy.Retry(attempts == null ? 1 : attempts, on, List.copyOf(codes), backendRequest, backoff);
  }

  /** {@code trafficPolicy.connectionPool}, or null. */
  static Policy.ConnectionPool connectionPool(Fields tp) {
    Fields cp = tp == null ? null : tp.object("connectionPool", false);
    if (cp == null) {
      return null;
    }
    cp.allow("tcp", "http");
    Integer maxConnections = null;
    Duration connectTimeout = null;
    Duration maxAge = null;
    Policy.TcpKeepalive keepalive = null;
    Duration tcpIdle = null;
    Fields tcp = cp.object("tcp", false);
    if (tcp != null) {
      tcp.allow("maxConnections", "connectTimeout", "maxConnectionDuration", "tcpKeepalive", "idleTimeout");
      maxConnections = tcp.integer("maxConnections", 1, Integer.MAX_VALUE, null);
      tcpIdle = PolicyParser.duration(tcp, "idleTimeout"); // 0s: never (Envoy's tcp_proxy takes 0 as off)
      connectTimeout = positiveDuration(tcp, "connectTimeout");
      maxAge = positiveDuration(tcp, "maxConnectionDuration");
      keepalive = tcpKeepalive(tcp);
    }
    Integer pending = null;
    Integer requests = null;
    Integer retries = null;
    Duration idle = null;
    Policy.H2Upgrade upgrade = null;
    Integer streams = null;
    Integer perConnection = null;
    Fields http = cp.object("http", false);
    if (http != null) {
      http.allow("http1MaxPendingRequests", "http2MaxRequests", "maxRetries", "idleTimeout", "h2UpgradePolicy",
          "useClientProtocol", "maxConcurrentStreams", "maxRequestsPerConnection");
      perConnection = http.integer("maxRequestsPerConnection", 0, Integer.MAX_VALUE, null);
      if (perConnection != null && perConnection == 0) {
        perConnection = null; // Istio: 0 means no limit
      }
      pending = http.integer("http1MaxPendingRequests", 1, Integer.MAX_VALUE, null);
      requests = http.integer("http2MaxRequests", 1, Integer.MAX_VALUE, null);
      retries = http.integer("maxRetries", 0, Integer.MAX_VALUE, null);
      idle = PolicyParser.duration(http, "idleTimeout");
      upgrade = h2Upgrade(http);
      streams = http.integer("maxConcurrentStreams", 1, Integer.MAX_VALUE, null);
      if (Boolean.TRUE.equals(http.bool("useClientProtocol"))) {
        // Envoy's use_downstream_protocol_config: Keelson's data plane has no per-request upstream protocol choice.
        http.error("useClientProtocol", "true is not supported: the data plane does not run Envoy's"
            + " use_downstream_protocol_config; declare the service port's protocol HTTP2 or GRPC, or set"
            + " h2UpgradePolicy: UPGRADE, to make the upstream hop HTTP/2");
      }
    }
    return new Policy.ConnectionPool(maxConnections, pending, requests, retries, idle, upgrade, streams,
        connectTimeout, maxAge, perConnection, keepalive, tcpIdle);
  }

  /**
   * {@code tcp.tcpKeepalive} ({@code probes}, {@code time}, {@code interval}; whole seconds from 1 to 32767 and at most 127
   * probes, as the kernel takes them), or null when absent or wrong (reported).
   */
  private static Policy.TcpKeepalive tcpKeepalive(Fields tcp) {
    Fields k = tcp.object("tcpKeepalive", false);
    if (k == null) {
      return null;
    }
    k.allow("probes", "time", "interval");
    Integer probes = k.integer("probes", 1, 127, null); // Linux caps TCP_KEEPCNT at 127
    Duration time = keepaliveSeconds(k, "time");
    Duration interval = keepaliveSeconds(k, "interval");
    if ((k.has("probes") && probes == null) || (k.has("time") && time == null)
        || (k.has("interval") && interval == null)) {
      return null;
    }
    return new Policy.TcpKeepalive(probes, time, interval);
  }

  private static Duration keepaliveSeconds(Fields k, String field) {
    Duration d = PolicyParser.duration(k, field);
    if (d != null && (d.toNanos() % 1_000_000_000L != 0 || d.getSeconds() < 1 || d.getSeconds() > 32767)) {
      k.error(field, "'" + d + "' is not whole seconds from 1s to 32767s (the kernel's unit and range)");
      return null;
    }
    return d;
  }

  /** A duration that must be above zero (Envoy refuses a zero connect timeout), or null when absent or wrong. */
  private static Duration positiveDuration(Fields f, String field) {
    Duration d = PolicyParser.duration(f, field);
    if (d != null && d.isZero()) {
      f.error(field, "is zero; expected a positive duration such as 10s");
      return null;
    }
    return d;
  }

  /** {@code http.h2UpgradePolicy}, or null when absent. */
  private static Policy.H2Upgrade h2Upgrade(Fields http) {
    String v = http.string("h2UpgradePolicy", false);
    if (v == null) {
      return null;
    }
    for (Policy.H2Upgrade candidate : Policy.H2Upgrade.values()) {
      if (candidate.name().equals(v)) {
        return candidate;
      }
    }
    http.error("h2UpgradePolicy", "'" + v + "' is not a policy; expected DEFAULT, DO_NOT_UPGRADE or UPGRADE");
    return null;
  }

  /** {@code trafficPolicy.outlierDetection}, or null. */
  static Policy.OutlierDetection outlierDetection(Fields tp) {
    Fields od = tp == null ? null : tp.object("outlierDetection", false);
    if (od == null) {
      return null;
    }
    od.allow(Set.of("consecutive5xxErrors", "consecutiveGatewayErrors", "interval", "baseEjectionTime",
        "maxEjectionPercent", "minHealthPercent", "splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures"),
        Map.of("consecutiveErrors", "deprecated by Istio; use consecutive5xxErrors"));
    if (od.has("minHealthPercent")) {
      od.warn("minHealthPercent", "ignored: Keelson sends to every endpoint only when none is available (panic)");
    }
    Boolean split = od.bool("splitExternalLocalOriginErrors");
    if (od.has("consecutiveLocalOriginFailures") && !Boolean.TRUE.equals(split)) {
      od.warn("consecutiveLocalOriginFailures", "ignored: it takes effect only with splitExternalLocalOriginErrors:"
          + " true (otherwise connect failures, timeouts and resets count as gateway errors)");
    }
    return new Policy.OutlierDetection(
        od.integer("consecutive5xxErrors", 0, Integer.MAX_VALUE, null),
        od.integer("consecutiveGatewayErrors", 0, Integer.MAX_VALUE, null),
        PolicyParser.duration(od, "interval"),
        PolicyParser.duration(od, "baseEjectionTime"),
        od.integer("maxEjectionPercent", 0, 100, null),
        split,
        od.integer("consecutiveLocalOriginFailures", 0, Integer.MAX_VALUE, null));
  }
}
