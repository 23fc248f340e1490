package io.keelson.dataplane.config;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How a STRICT_DNS or LOGICAL_DNS cluster's host names are resolved, as Envoy's Cluster dns fields say. Immutable.
 *
 * @param logical        LOGICAL_DNS: the cluster has one host, at the first address of the latest answer; STRICT_DNS
 *                       (false): every address of every answer is a host
 * @param refreshRate    dns_refresh_rate (Envoy's default 5 s): the pause between successful lookups
 * @param failureBase    dns_failure_refresh_rate.base_interval (default: {@code refreshRate}): the first pause after a
 *                       failed lookup, doubled (with jitter, as Envoy) on each further failure
 * @param failureMax     dns_failure_refresh_rate.max_interval (default: 10 × {@code failureBase}, as Envoy)
 * @param family         dns_lookup_family
 * @param respectTtl     respect_dns_ttl: after a successful lookup, the next one at the least TTL of its records
 *                       (a TTL of 0: {@code refreshRate}), as Envoy
 * @param resolver       the cluster's DNS resolver config (its own, else the bootstrap's), or null for the system's
 *                       resolver through the JDK
 * @param jitter         dns_jitter: a random pause below it added to each successful lookup's next one (zero: none)
 */
public record DnsResolution(boolean logical, Duration refreshRate, Duration failureBase, Duration failureMax,
    LookupFamily family, boolean respectTtl, DnsResolverConfig resolver, Duration jitter) {
  public static final Duration DEFAULT_REFRESH_RATE = Duration.ofSeconds(5);

  public DnsResolution {
    java.util.Objects.requireNonNull(jitter, "jitter");
  }

  /** Without dns_jitter. */
  public DnsResolution(boolean logical, Duration refreshRate, Duration failureBase, Duration failureMax,
      LookupFamily family, boolean respectTtl, DnsResolverConfig resolver) {
    this(logical, refreshRate, failureBase, failureMax, family, respectTtl, resolver, Duration.ZERO);
  }

  /** The system resolver through the JDK, TTLs not respected. */
  public DnsResolution(boolean logical, Duration refreshRate, Duration failureBase, Duration failureMax,
      LookupFamily family) {
    this(logical, refreshRate, failureBase, failureMax, family, false, null, Duration.ZERO);
  }

  /** True when the records' TTLs or other servers are needed: the JDK's resolver gives neither. */
  public boolean needsDnsClient() {
    return respectTtl || resolver != null;
  }

  /** Envoy's Cluster.DnsLookupFamily: which of a name's addresses become hosts. */
  public enum LookupFamily {
    /** IPv6 addresses when the name has any, else IPv4 ones (the proto's default). */
    AUTO,
    V4_ONLY,
    V6_ONLY,
    /** IPv4 addresses when the name has any, else IPv6 ones. */
    V4_PREFERRED,
    /** Every address of both families. */
    ALL;

    /** The addresses of {@code answer} this family keeps, in the answer's order. */
    public List<InetAddress> pick(InetAddress[] answer) {
      List<InetAddress> v4 = new ArrayList<>();
      List<InetAddress> v6 = new ArrayList<>();
      List<InetAddress> all = new ArrayList<>();
      for (InetAddress a : answer) {
        if (a instanceof Inet4Address) {
          v4.add(a);
          all.add(a);
        } else if (a instanceof Inet6Address) {
          v6.add(a);
          all.add(a);
        }
      }
      return switch (this) {
        case V4_ONLY -> v4;
        case V6_ONLY -> v6;
        case AUTO -> v6.isEmpty() ? v4 : v6;
        case V4_PREFERRED -> v4.isEmpty() ? v6 : v4;
        case ALL -> all;
      };
    }
  }
}
