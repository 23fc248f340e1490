package io.keelson.dataplane.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the TLS engine: netty-tcnative BoringSSL ({@link SslProvider#OPENSSL}) when it loads, JDK
 * TLS otherwise, and says which once (with tcnative's unavailability cause). The property
 * {@value #PROPERTY} = {@code auto} (default) | {@code openssl} | {@code jdk} forces a choice.
 * Thread-safe.
 */
public final class TlsProvider {
  public static final String PROPERTY = "keelson.tls.provider";
  private static final Logger LOG = LoggerFactory.getLogger(TlsProvider.class);
  private static final Set<String> LOGGED = ConcurrentHashMap.newKeySet();

  private TlsProvider() {}

  /** The provider new contexts use, per {@value #PROPERTY} and tcnative's availability. */
  public static SslProvider selected() {
    String wanted = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
    SslProvider p;
    String why;
    switch (wanted) {
      case "jdk" -> {
        p = SslProvider.JDK;
        why = "forced by -D" + PROPERTY + "=jdk";
      }
      case "openssl" -> {
        if (!OpenSsl.isAvailable()) {
          throw new IllegalStateException("-D" + PROPERTY + "=openssl but netty-tcnative cannot load: "
              + OpenSsl.unavailabilityCause());
        }
        p = SslProvider.OPENSSL;
        why = "forced by -D" + PROPERTY + "=openssl; " + OpenSsl.versionString();
      }
      default -> {
        if (OpenSsl.isAvailable()) {
          p = SslProvider.OPENSSL;
          why = "netty-tcnative " + OpenSsl.versionString();
        } else {
          p = SslProvider.JDK;
          why = "netty-tcnative is unavailable: " + OpenSsl.unavailabilityCause();
        }
      }
    }
    if (LOGGED.add(p + why)) {
      LOG.info("TLS provider: {} ({})", p == SslProvider.OPENSSL ? "BoringSSL" : "JDK", why);
    }
    return p;
  }

  /** A short description for /server_info-like output and docs. */
  public static String describe() {
    return OpenSsl.isAvailable() ? "BoringSSL (" + OpenSsl.versionString() + ")"
        : "JDK (tcnative unavailable: " + OpenSsl.unavailabilityCause() + ")";
  }
}
