package io.keelson.dataplane.accesslog;

import io.keelson.dataplane.stats.ResponseFlag;
import java.util.List;

/**
 * Envoy's response flags by their short codes, in the order of Envoy's {@code ResponseFlag} bits (the order of
 * {@code ResponseFlagFilter.flags}' allowed values): CEL's {@code response.flags} is the bit mask. Stateless.
 */
final class EnvoyResponseFlags {
  /** Envoy's short codes, bit 0 first. */
  static final List<String> CODES = List.of("LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL",
      "UAEX", "RLSE", "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF", "DO", "DR",
      "UDO");
  private static final long[] BITS = new long[ResponseFlag.values().length];

  static {
    for (ResponseFlag f : ResponseFlag.values()) {
      int i = CODES.indexOf(f.code);
      BITS[f.ordinal()] = i < 0 ? 0 : 1L << i;
    }
  }

  private EnvoyResponseFlags() {}

  /** {@code f}'s bit in Envoy's mask; 0 for none and for Keelson flags Envoy has no bit for. */
  static long bit(ResponseFlag f) {
    return BITS[f.ordinal()];
  }
}
