package io.keelson.dataplane.config;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

/**
 * Which DNS servers a DNS cluster asks and how, as Envoy's {@code envoy.network.dns_resolver.cares} config (or the
 * deprecated {@code dns_resolvers} / {@code dns_resolution_config} / {@code use_tcp_for_dns_lookups}) says. Immutable.
 *
 * @param resolvers             the servers, asked in order (none: the system's, from resolv.conf)
 * @param tcp                   dns_resolver_options.use_tcp_for_dns_lookups: every query over TCP
 * @param noDefaultSearchDomain dns_resolver_options.no_default_search_domain: names asked as given, without
 *                              resolv.conf's search list
 * @param rotate                rotate_nameservers: each lookup starts at the next server
 * @param queryTimeout          query_timeout_seconds (Envoy's default 5 s): one query's wait for its answer
 * @param tries                 query_tries (Envoy's default 4): how many times each server is asked a question before
 *                              the lookup fails
 * @param resolversAsFallback   use_resolvers_as_fallback: {@code resolvers} only when resolv.conf lists no server
 */
public record DnsResolverConfig(List<InetSocketAddress> resolvers, boolean tcp, boolean noDefaultSearchDomain,
    boolean rotate, Duration queryTimeout, int tries, boolean resolversAsFallback) {
  public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(5);
  public static final int DEFAULT_TRIES = 4;

  public DnsResolverConfig {
    resolvers = List.copyOf(resolvers);
    if (tries < 1) {
      throw new IllegalArgumentException("tries " + tries + " is out of range; expected at least 1");
    }
  }

  /** With Envoy's default query_tries, the resolvers not a fallback. */
  public DnsResolverConfig(List<InetSocketAddress> resolvers, boolean tcp, boolean noDefaultSearchDomain,
      boolean rotate, Duration queryTimeout) {
    this(resolvers, tcp, noDefaultSearchDomain, rotate, queryTimeout, DEFAULT_TRIES, false);
  }
}
