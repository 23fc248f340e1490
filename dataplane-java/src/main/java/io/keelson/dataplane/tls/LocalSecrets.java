package io.keelson.dataplane.tls;

import io.keelson.dataplane.security.CertificateSource;

/**
 * The SDS secrets a proxy resolves locally, Istio's way: {@value #WORKLOAD_CERT} is the proxy's own
 * rotating workload certificate and {@value #ROOT_CA} the mesh trust bundle, both from its
 * {@link CertificateSource} (its {@code WorkloadIdentity}). A TLS context built on them reads the
 * source per handshake, so rotation needs no config push.
 *
 * <p>The source is bound to the translating thread for the duration of one translation (the xDS
 * client's), so several proxies in one JVM each resolve their own identity. Thread-safe.
 */
public final class LocalSecrets {
  public static final String WORKLOAD_CERT = "default";
  public static final String ROOT_CA = "ROOTCA";
  private static final ThreadLocal<CertificateSource> CURRENT = new ThreadLocal<>();

  private LocalSecrets() {}

  /** A translation step that may throw a checked exception. */
  public interface Work<T, E extends Exception> {
    T run() throws E;
  }

  /** Runs {@code work} with {@code source} as this thread's local secrets (null: none). */
  public static <T, E extends Exception> T with(CertificateSource source, Work<T, E> work) throws E {
    return bound(CURRENT, source, work);
  }

  /** Runs {@code work} with {@code value} in {@code slot} for this thread, then puts back what was there. */
  static <V, T, E extends Exception> T bound(ThreadLocal<V> slot, V value, Work<T, E> work) throws E {
    V previous = slot.get();
    slot.set(value);
    try {
      return work.run();
    } finally {
      if (previous == null) {
        slot.remove();
      } else {
        slot.set(previous);
      }
    }
  }

  /** The source bound to this thread, or null. */
  public static CertificateSource current() {
    return CURRENT.get();
  }
}
