package io.keelson.dataplane.tls.offload;

import java.util.Locale;

/**
 * {@code --tls-offload}: {@link #OFF} never probes; {@link #AUTO} (default) offloads where the probe says the
 * kernel can, else keeps TLS in user space unchanged; {@link #REQUIRE} refuses to start without kernel TLS.
 * Immutable.
 */
public enum TlsOffloadMode {
  OFF,
  AUTO,
  REQUIRE;

  /** Parses {@code off | auto | require} (any case); anything else is an error naming the flag. */
  public static TlsOffloadMode parse(String value) {
    if (value == null) {
      return AUTO;
    }
    return switch (value.trim().toLowerCase(Locale.ROOT)) {
      case "off" -> OFF;
      case "auto", "" -> AUTO;
      case "require" -> REQUIRE;
      default -> throw new IllegalArgumentException("--tls-offload '" + value + "' is not one of: off, auto, require");
    };
  }

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }
}
