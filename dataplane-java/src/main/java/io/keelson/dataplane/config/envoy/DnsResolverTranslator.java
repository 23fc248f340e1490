package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.Address;
import io.envoyproxy.envoy.config.core.v3.DnsResolutionConfig;
import io.envoyproxy.envoy.config.core.v3.DnsResolverOptions;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;
import io.envoyproxy.envoy.extensions.network.dns_resolver.cares.v3.CaresDnsResolverConfig;
import io.keelson.dataplane.config.DnsResolverConfig;
import io.netty.util.NetUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Translates Envoy's DNS resolver config of a cluster or the bootstrap: {@code typed_dns_resolver_config} (the c-ares
 * resolver, {@code envoy.network.dns_resolver.cares}), or the deprecated {@code dns_resolution_config},
 * {@code dns_resolvers} and {@code use_tcp_for_dns_lookups}, in Envoy's order of precedence. Stateless.
 */
final class DnsResolverTranslator {
  static final String CARES = "envoy.network.dns_resolver.cares";
  private static final String CARES_TYPE = CaresDnsResolverConfig.getDescriptor().getFullName();

  private DnsResolverTranslator() {}

  /** What a cluster or the bootstrap sets, read as Envoy's selectDnsResolver does. */
  record Fields(TypedExtensionConfig typed, DnsResolutionConfig resolution, List<Address> resolvers, boolean tcp) {
    boolean any() {
      return typed != null || resolution != null || !resolvers.isEmpty() || tcp;
    }
  }

  /**
   * The resolver config {@code fields} name (under {@code path}), {@code fallback} when they name none; null after an
   * error (reported).
   */
  static DnsResolverConfig translate(Fields fields, String path, Problems problems, DnsResolverConfig fallback) {
    if (fields.typed() != null) {
      return typed(fields.typed(), field(path, "typed_dns_resolver_config"), problems);
    }
    if (fields.resolution() != null) {
      DnsResolutionConfig r = fields.resolution();
      String at = field(path, "dns_resolution_config");
      return config(r.getResolversList(), at + ".resolvers", r.getDnsResolverOptions(), false, null, problems);
    }
    if (!fields.resolvers().isEmpty() || fields.tcp()) {
      return config(fields.resolvers(), field(path, "dns_resolvers"),
          DnsResolverOptions.newBuilder().setUseTcpForDnsLookups(fields.tcp()).build(), false, null, problems);
    }
    return fallback;
  }

  /**
   * The bootstrap's resolver config, the default of every DNS cluster without its own, static or from CDS (Envoy's bootstrap
   * {@code typed_dns_resolver_config}, else its deprecated {@code dns_resolution_config} / {@code use_tcp_for_dns_lookups});
   * null when it sets none or after an error (reported).
   */
  static DnsResolverConfig bootstrapDefault(io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap b, Problems problems) {
    var fields = new Fields(b.hasTypedDnsResolverConfig() ? b.getTypedDnsResolverConfig() : null,
        b.hasDnsResolutionConfig() ? b.getDnsResolutionConfig() : null, List.of(), b.getUseTcpForDnsLookups());
    return translate(fields, "", problems, null);
  }

  private static DnsResolverConfig typed(TypedExtensionConfig typed, String path, Problems problems) {
    String type = SupportedTypes.typeName(typed.getTypedConfig().getTypeUrl());
    if (!type.equals(CARES_TYPE)) {
      problems.error(path + ".typed_config", "type " + typed.getTypedConfig().getTypeUrl() + " is not supported;"
          + " expected " + CARES_TYPE + " (" + CARES + ")");
      return null;
    }
    CaresDnsResolverConfig cares;
    try {
      cares = CaresDnsResolverConfig.parseFrom(typed.getTypedConfig().getValue());
    } catch (InvalidProtocolBufferException e) {
      problems.error(path + ".typed_config", "cannot read " + CARES_TYPE + ": " + e.getMessage());
      return null;
    }
    String at = path + ".typed_config";
    int errors = problems.count();
    SupportedFields.checkDynamic(cares, at, problems);
    Duration timeout = null;
    if (cares.hasQueryTimeoutSeconds()) {
      long seconds = cares.getQueryTimeoutSeconds().getValue();
      if (seconds < 1 || seconds > 3600) {
        problems.error(at + ".query_timeout_seconds", seconds + " is out of range; expected 1-3600 seconds");
        return null;
      }
      timeout = Duration.ofSeconds(seconds);
    }
    int tries = DnsResolverConfig.DEFAULT_TRIES;
    if (cares.hasQueryTries()) {
      long n = Integer.toUnsignedLong(cares.getQueryTries().getValue());
      if (n < 1 || n > 16) {
        problems.error(at + ".query_tries", n + " is out of range; expected 1-16");
        return null;
      }
      tries = (int) n;
    }
    if (cares.getUseResolversAsFallback() && cares.getResolversCount() == 0) {
      problems.warn(at + ".use_resolvers_as_fallback", "has no effect without resolvers");
    }
    DnsResolverConfig config = config(cares.getResolversList(), at + ".resolvers", cares.getDnsResolverOptions(),
        cares.getRotateNameservers(), timeout, problems);
    return problems.count() != errors || config == null ? null : new DnsResolverConfig(config.resolvers(), config.tcp(),
        config.noDefaultSearchDomain(), config.rotate(), config.queryTimeout(), tries, cares.getUseResolversAsFallback());
  }

  private static DnsResolverConfig config(List<Address> addresses, String path, DnsResolverOptions options,
      boolean rotate, Duration timeout, Problems problems) {
    List<InetSocketAddress> resolvers = new ArrayList<>();
    boolean ok = true;
    for (int i = 0; i < addresses.size(); i++) {
      InetSocketAddress a = resolver(addresses.get(i), path + "[" + i + "]", problems);
      ok &= a != null;
      resolvers.add(a);
    }
    return ok ? new DnsResolverConfig(resolvers, options.getUseTcpForDnsLookups(), options.getNoDefaultSearchDomain(),
        rotate, timeout == null ? DnsResolverConfig.DEFAULT_QUERY_TIMEOUT : timeout) : null;
  }

  private static String field(String path, String name) {
    return path.isEmpty() ? name : path + "." + name;
  }

  /** A DNS server's address: an IP address and port (c-ares takes no names), UDP or TCP alike. */
  private static InetSocketAddress resolver(Address address, String path, Problems problems) {
    if (!address.hasSocketAddress()) {
      problems.error(path, "a socket_address is required (the DNS server's IP address and port)");
      return null;
    }
    var sa = address.getSocketAddress();
    String at = path + ".socket_address";
    if (!NetUtil.isValidIpV4Address(sa.getAddress()) && !NetUtil.isValidIpV6Address(sa.getAddress())) {
      problems.error(at + ".address", "'" + sa.getAddress() + "' is not an IP address; expected the DNS server's IP"
          + " address, e.g. 10.0.0.10");
      return null;
    }
    if (sa.getPortValue() < 1 || sa.getPortValue() > 65535) {
      problems.error(at + ".port_value", Integer.toUnsignedString(sa.getPortValue()) + " is out of range; expected"
          + " 1-65535 (53 for DNS)");
      return null;
    }
    return new InetSocketAddress(InetAddress.ofLiteral(sa.getAddress()), sa.getPortValue());
  }
}
