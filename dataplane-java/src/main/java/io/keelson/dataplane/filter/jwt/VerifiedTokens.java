package io.keelson.dataplane.filter.jwt;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Tokens whose signature one provider already verified, with the key set that verified them: a
 * repeated token skips parsing and the signature check (times, issuer and audiences are still checked
 * on every request). An entry counts only while the provider's keys are the same list (a refreshed
 * remote JWKS starts over). Bounded: cleared when full. Thread-safe; a hit allocates nothing.
 */
final class VerifiedTokens {
  static final int MAX = 4096;

  private record Entry(Jwt jwt, List<Jwk> keys) {}

  private final ConcurrentHashMap<String, Entry> map = new ConcurrentHashMap<>();

  /** The parsed token if its signature verified with {@code keys}, else null. */
  Jwt get(String token, List<Jwk> keys) {
    Entry e = map.get(token);
    return e != null && e.keys == keys ? e.jwt : null;
  }

  void put(String token, Jwt jwt, List<Jwk> keys) {
    if (map.size() >= MAX) {
      map.clear();
    }
    map.put(token, new Entry(jwt, keys));
  }

  int size() {
    return map.size();
  }
}
