package io.keelson.dataplane.tls;

import java.util.List;

/**
 * Envoy's tls_params and alpn_protocols. Protocol versions use the JSSE names ({@code TLSv1.2},
 * {@code TLSv1.3}); null leaves the provider's default. Immutable.
 *
 * @param minVersion   lowest protocol version, or null (Envoy's default: TLS 1.2)
 * @param maxVersion   highest protocol version, or null (TLS 1.3)
 * @param cipherSuites cipher suites (OpenSSL or IANA names; TLS 1.2 only), empty for the default
 * @param ecdhCurves   key exchange groups (e.g. X25519, P-256), empty for the default
 * @param alpn         ALPN protocols in preference order, empty for none
 */
public record TlsParams(String minVersion, String maxVersion, List<String> cipherSuites, List<String> ecdhCurves,
    List<String> alpn) {
  public static final TlsParams DEFAULT = new TlsParams(null, null, List.of(), List.of(), List.of());

  public TlsParams {
    cipherSuites = List.copyOf(cipherSuites);
    ecdhCurves = List.copyOf(ecdhCurves);
    alpn = List.copyOf(alpn);
  }

  /** The protocol versions to enable, lowest to highest. */
  List<String> protocols() {
    List<String> all = List.of("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3");
    int lo = all.indexOf(minVersion == null ? "TLSv1.2" : minVersion);
    int hi = all.indexOf(maxVersion == null ? "TLSv1.3" : maxVersion);
    return lo > hi ? List.of() : all.subList(lo, hi + 1);
  }
}
