package io.keelson.control.policy;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A DestinationRule's {@code trafficPolicy.tls} (Istio's ClientTLSSettings): mode SIMPLE (TLS origination: {@code sni},
 * {@code caCertificates} as a file path, {@code subjectAltNames}, {@code insecureSkipVerify}), MUTUAL (the same plus
 * the client certificate the proxy presents: {@code clientCertificate} and {@code privateKey}, file paths), DISABLE, or
 * ISTIO_MUTUAL (mesh mTLS with the sidecar's own certificate; {@code sni} and {@code subjectAltNames} only); instead of the files,
 * {@code credentialName} (a Secret delivered over SDS). {@code caCrl} is refused by name. Stateless.
 */
final class TlsOriginationParser {
  private static final List<String> ORIGINATION_FIELDS = List.of("sni", "caCertificates", "subjectAltNames",
      "insecureSkipVerify", "clientCertificate", "privateKey", "credentialName");
  private static final List<String> FILE_FIELDS = List.of("caCertificates", "clientCertificate", "privateKey");

  private TlsOriginationParser() {}

  /** The settings of {@code trafficPolicy} (its {@code tls}), or null when absent or wrong (reported). */
  static Policy.ClientTls tls(Fields trafficPolicy) {
    Fields t = trafficPolicy.object("tls", false);
    if (t == null) {
      return null;
    }
    t.allow(Set.copyOf(concat("mode", ORIGINATION_FIELDS)), Map.of(
        "caCrl", "certificate revocation lists are not supported yet"));
    String mode = t.string("mode", true);
    if (mode == null) {
      return null;
    }
    switch (mode) {
      case "SIMPLE", "MUTUAL", "DISABLE" -> { }
      case "ISTIO_MUTUAL" -> {
        return istioMutual(t);
      }
      default -> {
        t.error("mode", "'" + mode + "' is not a TLS mode; expected SIMPLE, MUTUAL, DISABLE or ISTIO_MUTUAL");
        return null;
      }
    }
    boolean originates = !mode.equals("DISABLE");
    boolean mutual = mode.equals("MUTUAL");
    for (String f : ORIGINATION_FIELDS) {
      if (!t.has(f)) {
        continue;
      }
      if (!originates) {
        t.error(f, "applies to modes SIMPLE and MUTUAL only; mode is DISABLE");
      } else if (!mutual && (f.equals("clientCertificate") || f.equals("privateKey"))) {
        t.error(f, "applies to mode MUTUAL only (the proxy presents a client certificate); mode is SIMPLE");
      }
    }
    String credential = t.string("credentialName", false);
    if (credential != null) {
      return originates ? credential(t, mode, credential) : null; // DISABLE: reported above
    }
    String ca = path(t, "caCertificates");
    String cert = mutual ? path(t, "clientCertificate") : null;
    String key = mutual ? path(t, "privateKey") : null;
    if (mutual && (cert == null || key == null)) {
      for (String f : List.of("clientCertificate", "privateKey")) {
        if (!t.has(f)) {
          t.error(f, "is required with mode MUTUAL; expected the path of a PEM file on the proxy's machine");
        }
      }
      return null;
    }
    Boolean skip = t.bool("insecureSkipVerify");
    if (Boolean.TRUE.equals(skip) && (ca != null || t.has("subjectAltNames"))) {
      t.error("insecureSkipVerify", "is true but caCertificates or subjectAltNames is set; expected one or the other");
    }
    return new Policy.ClientTls(originates, t.string("sni", false), ca, t.strings("subjectAltNames", false),
        Boolean.TRUE.equals(skip), cert, key);
  }

  /**
   * ISTIO_MUTUAL: the sidecar presents its own certificate; {@code sni} (istiod's default: none here) and
   * {@code subjectAltNames} (SPIFFE IDs, replacing the endpoints' service accounts as istiod does) may be set, the
   * certificate fields not.
   */
  private static Policy.ClientTls istioMutual(Fields t) {
    for (String f : ORIGINATION_FIELDS) {
      if (t.has(f) && !f.equals("sni") && !f.equals("subjectAltNames")) {
        t.error(f, "is not supported with mode ISTIO_MUTUAL (the sidecar presents its own mesh certificate and trusts"
            + " the mesh roots); expected the field removed");
      }
    }
    List<String> sans = t.strings("subjectAltNames", false);
    sans = sans == null ? List.of() : sans;
    for (int i = 0; i < sans.size(); i++) {
      if (!sans.get(i).startsWith("spiffe://")) {
        t.error("subjectAltNames[" + i + "]", "'" + sans.get(i) + "' is not a SPIFFE ID; expected spiffe://..."
            + " (mesh certificates carry their identity as a URI SAN)");
      }
    }
    String sni = t.string("sni", false);
    return sni == null && sans.isEmpty() ? Policy.ClientTls.ISTIO_MUTUAL : Policy.ClientTls.istioMutual(sni, sans);
  }

  /**
   * {@code credentialName} (Istio: "only one of client certificates and CA certificate or credentialName"): a Secret
   * name of the originating proxy's namespace, so no {@code namespace/} prefix.
   */
  private static Policy.ClientTls credential(Fields t, String mode, String credential) {
    boolean ok = true;
    for (String f : FILE_FIELDS) {
      if (t.has(f)) {
        t.error(f, "cannot be used with credentialName (the Secret holds the certificates); expected one or the other");
        ok = false;
      }
    }
    if (credential.isEmpty() || credential.contains("/")) {
      t.error("credentialName", "'" + credential + "' is not a Secret name; expected the name of a Secret in the"
          + " namespace of the proxy that originates TLS");
      ok = false;
    }
    Boolean skip = t.bool("insecureSkipVerify");
    if (Boolean.TRUE.equals(skip) && t.has("subjectAltNames")) {
      t.error("insecureSkipVerify", "is true but subjectAltNames is set; expected one or the other");
    }
    return ok ? new Policy.ClientTls(true, t.string("sni", false), null, t.strings("subjectAltNames", false),
        Boolean.TRUE.equals(skip), null, null, new Policy.Credential(credential, mode.equals("MUTUAL"))) : null;
  }

  /** The absolute file path in {@code field}, or null when absent or not absolute (reported). */
  private static String path(Fields t, String field) {
    String value = t.string(field, false);
    if (value != null && !value.startsWith("/")) {
      t.error(field, "'" + value + "' is not an absolute path; expected the path of a PEM file on the proxy's machine");
      return null;
    }
    return value;
  }

  private static List<String> concat(String first, List<String> rest) {
    List<String> all = new java.util.ArrayList<>(rest);
    all.add(first);
    return all;
  }
}
