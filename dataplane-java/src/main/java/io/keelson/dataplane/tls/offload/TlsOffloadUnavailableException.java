package io.keelson.dataplane.tls.offload;

/**
 * {@code --tls-offload require} on a machine where kernel TLS offload cannot run; the message carries the kernel's
 * (or the TLS library's) answer. Immutable.
 */
public final class TlsOffloadUnavailableException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  TlsOffloadUnavailableException(String message) {
    super(message);
  }
}
