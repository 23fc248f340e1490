package io.keelson.dataplane.stats;

import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's TLS counters of one listener or cluster ({@code <scope>.ssl.*}, e.g.
 * {@code listener.ingress.ssl.handshake}, {@code cluster.backend.ssl.fail_verify_san}). Thread-safe.
 */
public final class TlsStats {
  /** {@code listener.<name>} or {@code cluster.<name>}. */
  public final String scope;
  public final LongAdder handshake = new LongAdder();
  public final LongAdder connectionError = new LongAdder();
  public final LongAdder failVerifyNoCert = new LongAdder();
  public final LongAdder failVerifyError = new LongAdder();
  public final LongAdder failVerifySan = new LongAdder();
  /** A cluster's connection failed because a served (SDS) secret had not arrived; Envoy's client_ssl_socket_factory one. */
  public final LongAdder secretsNotReady = new LongAdder();

  TlsStats(String scope) {
    this.scope = scope;
  }

  void writeEnvoyText(java.util.Map<String, Long> out) {
    String p = scope + ".ssl.";
    out.put(p + "handshake", handshake.sum());
    out.put(p + "connection_error", connectionError.sum());
    out.put(p + "fail_verify_no_cert", failVerifyNoCert.sum());
    out.put(p + "fail_verify_error", failVerifyError.sum());
    out.put(p + "fail_verify_san", failVerifySan.sum());
    if (scope.startsWith("cluster.")) {
      out.put(scope + ".client_ssl_socket_factory.upstream_context_secrets_not_ready", secretsNotReady.sum());
    }
  }

  static void writePrometheus(PrometheusWriter w, Iterable<TlsStats> all) {
    String[][] names = {
      {"handshake", "envoy_ssl_handshake"},
      {"connection_error", "envoy_ssl_connection_error"},
      {"fail_verify_no_cert", "envoy_ssl_fail_verify_no_cert"},
      {"fail_verify_error", "envoy_ssl_fail_verify_error"},
      {"fail_verify_san", "envoy_ssl_fail_verify_san"},
    };
    for (String[] n : names) {
      w.type(n[1], "counter");
      for (TlsStats s : all) {
        long v = switch (n[0]) {
          case "handshake" -> s.handshake.sum();
          case "connection_error" -> s.connectionError.sum();
          case "fail_verify_no_cert" -> s.failVerifyNoCert.sum();
          case "fail_verify_error" -> s.failVerifyError.sum();
          default -> s.failVerifySan.sum();
        };
        w.sample(n[1], v, "scope", s.scope);
      }
    }
  }
}
