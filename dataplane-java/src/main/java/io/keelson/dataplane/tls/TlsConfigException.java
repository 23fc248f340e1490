package io.keelson.dataplane.tls;

/**
 * TLS material or parameters that cannot be used; {@link #field} names the Envoy field relative to
 * the TLS context (e.g. {@code common_tls_context.tls_certificates[0].private_key}). Immutable.
 */
public final class TlsConfigException extends RuntimeException {
  private final String field;

  public TlsConfigException(String field, String message) {
    super(message);
    this.field = field;
  }

  public String field() {
    return field;
  }
}
