package io.keelson.control.policy;

import java.util.Map;
import java.util.Set;

/**
 * A DestinationRule's {@code trafficPolicy.tls} (Istio's ClientTLSSettings): mode SIMPLE (TLS origination: {@code sni},
 * {@code caCertificates} as a file path, {@code subjectAltNames}, {@code insecureSkipVerify}) or DISABLE; MUTUAL and
 * ISTIO_MUTUAL, and certificates from Kubernetes secrets ({@code credentialName}), are refused by name. Stateless.
 */
final class TlsOriginationParser {
  private TlsOriginationParser() {}

  /** The settings of {@code trafficPolicy} (its {@code tls}), or null when absent or wrong (reported). */
  static Policy.ClientTls tls(Fields trafficPolicy) {
    Fields t = trafficPolicy.object("tls", false);
    if (t == null) {
      return null;
    }
    t.allow(Set.of("mode", "sni", "caCertificates", "subjectAltNames", "insecureSkipVerify"), Map.of(
        "credentialName", "certificates from Kubernetes secrets are not supported yet; expected caCertificates (a PEM"
            + " file on the proxy's machine)",
        "clientCertificate", "client certificates (mode MUTUAL) are not supported yet",
        "privateKey", "client certificates (mode MUTUAL) are not supported yet",
        "caCrl", "certificate revocation lists are not supported yet"));
    String mode = t.string("mode", true);
    if (mode == null) {
      return null;
    }
    switch (mode) {
      case "SIMPLE", "DISABLE" -> { }
      case "MUTUAL" -> {
        t.error("mode", "MUTUAL (a client certificate of the app's) is not supported yet; expected SIMPLE or DISABLE");
        return null;
      }
      case "ISTIO_MUTUAL" -> {
        t.error("mode", "ISTIO_MUTUAL is what Keelson does by itself between sidecars with identities (auto mTLS);"
            + " expected SIMPLE or DISABLE");
        return null;
      }
      default -> {
        t.error("mode", "'" + mode + "' is not a TLS mode; expected SIMPLE or DISABLE");
        return null;
      }
    }
    boolean simple = mode.equals("SIMPLE");
    if (!simple) {
      for (String f : java.util.List.of("sni", "caCertificates", "subjectAltNames", "insecureSkipVerify")) {
        if (t.has(f)) {
          t.error(f, "applies to mode SIMPLE only; mode is DISABLE");
        }
      }
    }
    String ca = t.string("caCertificates", false);
    if (ca != null && !ca.startsWith("/")) {
      t.error("caCertificates", "'" + ca + "' is not an absolute path; expected the path of a PEM file on the proxy's"
          + " machine");
    }
    Boolean skip = t.bool("insecureSkipVerify");
    if (Boolean.TRUE.equals(skip) && (ca != null || t.has("subjectAltNames"))) {
      t.error("insecureSkipVerify", "is true but caCertificates or subjectAltNames is set; expected one or the other");
    }
    return new Policy.ClientTls(simple, t.string("sni", false), ca, t.strings("subjectAltNames", false),
        Boolean.TRUE.equals(skip));
  }
}
