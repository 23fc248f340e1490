package io.keelson.dataplane.config;

/**
 * One entry of a route's hash_policy: where the request hash for ring hash and Maglev comes from.
 * Immutable.
 *
 * @param source   what is hashed
 * @param name     the header (lower case), cookie or query parameter name; null for SOURCE_IP
 * @param terminal stop at this policy when it produced a hash
 */
public record HashPolicy(Source source, String name, boolean terminal) {
  public enum Source {
    HEADER,
    COOKIE,
    /** connection_properties.source_ip */
    SOURCE_IP,
    QUERY_PARAMETER
  }
}
