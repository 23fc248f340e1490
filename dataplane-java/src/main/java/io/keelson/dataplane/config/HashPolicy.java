package io.keelson.dataplane.config;

import java.time.Duration;

/**
 * One entry of a route's hash_policy: where the request hash for ring hash and Maglev comes from.
 * Immutable.
 *
 * @param source     what is hashed
 * @param name       the header (lower case), cookie or query parameter name; null for SOURCE_IP
 * @param terminal   stop at this policy when it produced a hash
 * @param cookieTtl  COOKIE only: Envoy's {@code ttl}; when set and the request has no such cookie, the
 *                   proxy generates one, hashes it, and sets it on the response ({@code Max-Age} = ttl,
 *                   none when zero). Null: no cookie is generated.
 * @param cookiePath COOKIE only: the generated cookie's {@code Path}, or null
 */
public record HashPolicy(Source source, String name, boolean terminal, Duration cookieTtl, String cookiePath) {
  public enum Source {
    HEADER,
    COOKIE,
    /** connection_properties.source_ip */
    SOURCE_IP,
    QUERY_PARAMETER
  }

  public HashPolicy(Source source, String name, boolean terminal) {
    this(source, name, terminal, null, null);
  }

  /** True when a missing cookie is generated and set on the response. */
  public boolean generatesCookie() {
    return source == Source.COOKIE && cookieTtl != null;
  }
}
