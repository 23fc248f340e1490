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
 * @param queryTimeout          query_timeout_seconds (c-ares' default 5 s): one query's wait for its answer
 */
public record DnsResolverConfig(List<InetSocketAddress> resolvers, boolean tcp, boolean noDefaultSearchDomain,
    boolean rotate, Duration queryTimeout) {
  public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(5);

  public DnsResolverConfig {
    resolvers = List.copyOf(resolvers);
  }
}
