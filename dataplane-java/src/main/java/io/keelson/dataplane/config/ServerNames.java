package io.keelson.dataplane.config;

import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * Envoy's filter-chain selection by SNI ({@code filter_chain_match.server_names}), shared by the
 * passthrough chains ({@link SniChain}) and the terminating ones ({@link SniCertificate}). Stateless.
 */
final class ServerNames {
  private ServerNames() {}

  static List<String> lowerCase(List<String> names) {
    return names.stream().map(n -> n.toLowerCase(Locale.ROOT)).toList();
  }

  /**
   * The entry for {@code sni} (null when the client sent none): an exact name first, then the longest
   * matching {@code *.suffix} wildcard, then the first entry without names; null when none matches.
   */
  static <T> T select(List<T> entries, Function<T, List<String>> namesOf, String sni) {
    String name = sni == null ? null : sni.toLowerCase(Locale.ROOT);
    T wildcard = null;
    int wildcardLength = -1;
    T fallback = null;
    for (T entry : entries) {
      List<String> names = namesOf.apply(entry);
      if (names.isEmpty()) {
        fallback = fallback == null ? entry : fallback;
        continue;
      }
      for (String n : name == null ? List.<String>of() : names) {
        if (n.equals(name)) {
          return entry;
        }
        if (n.startsWith("*.") && name.endsWith(n.substring(1)) && n.length() > wildcardLength) {
          wildcard = entry;
          wildcardLength = n.length();
        }
      }
    }
    return wildcard != null ? wildcard : fallback;
  }
}
