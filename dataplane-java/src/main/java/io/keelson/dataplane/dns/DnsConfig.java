package io.keelson.dataplane.dns;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The DNS proxy's settings. Immutable.
 *
 * @param host           address it listens on, UDP and TCP (127.0.0.1: where iptables' REDIRECT sends the app's queries)
 * @param port           its port (Istio's 15053; 0 picks one, for tests)
 * @param upstreams      resolvers for the names it does not own, asked in turn (those of the first one's address family)
 * @param searchDomains  the app's resolver search list (resolv.conf {@code search}): names that end in one are also
 *                       looked up without it
 * @param timeout        how long a forwarded query may wait for the upstreams before the app gets SERVFAIL; each
 *                       upstream in turn gets an equal share
 * @param maxPending     forwarded queries waiting at once; more get SERVFAIL at once (counted as dns.overflow)
 * @param maxTcpConnections TCP connections at once; more are closed on accept
 * @param cacheEntries   forwarded answers kept at most ({@link DnsCache}; 0 keeps none)
 * @param cacheMaxTtl    the longest a positive answer is kept, whatever its TTL
 * @param cacheMaxNegativeTtl the longest an NXDOMAIN or NODATA answer is kept, whatever its SOA says
 */
public record DnsConfig(String host, int port, List<InetSocketAddress> upstreams, List<String> searchDomains,
    Duration timeout, int maxPending, int maxTcpConnections, int cacheEntries, Duration cacheMaxTtl,
    Duration cacheMaxNegativeTtl) {
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 15053;
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
  public static final int DEFAULT_MAX_PENDING = 1024;
  public static final int DEFAULT_MAX_TCP_CONNECTIONS = 256;
  public static final int DEFAULT_CACHE_ENTRIES = 1024;
  public static final Duration DEFAULT_CACHE_MAX_TTL = Duration.ofMinutes(5);
  public static final Duration DEFAULT_CACHE_MAX_NEGATIVE_TTL = Duration.ofSeconds(30);
  public static final Path RESOLV_CONF = Path.of("/etc/resolv.conf");

  public DnsConfig {
    upstreams = List.copyOf(upstreams);
    searchDomains = List.copyOf(searchDomains);
    if (upstreams.isEmpty()) {
      throw new IllegalArgumentException("the DNS proxy needs an upstream resolver: none in " + RESOLV_CONF
          + " (a 'nameserver IP' line); name one with --dns-upstream IP[:PORT]");
    }
    if (maxPending < 1 || maxPending > UpstreamForwarder.MAX_SLOTS) {
      throw new IllegalArgumentException("maxPending " + maxPending + ": expected 1-" + UpstreamForwarder.MAX_SLOTS);
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("the DNS upstream timeout must be positive, got " + timeout);
    }
    if (cacheEntries < 0 || cacheMaxTtl.isNegative() || cacheMaxNegativeTtl.isNegative()) {
      throw new IllegalArgumentException("the DNS cache's size and TTL caps must not be negative, got " + cacheEntries
          + " entries, " + cacheMaxTtl + ", " + cacheMaxNegativeTtl);
    }
  }

  /** With the default cache ({@link #DEFAULT_CACHE_ENTRIES} answers, TTLs capped at 5 min, negative ones at 30 s). */
  public DnsConfig(String host, int port, List<InetSocketAddress> upstreams, List<String> searchDomains,
      Duration timeout, int maxPending, int maxTcpConnections) {
    this(host, port, upstreams, searchDomains, timeout, maxPending, maxTcpConnections, DEFAULT_CACHE_ENTRIES,
        DEFAULT_CACHE_MAX_TTL, DEFAULT_CACHE_MAX_NEGATIVE_TTL);
  }

  /** This configuration with a cache of {@code entries} answers and these caps. */
  public DnsConfig withCache(int entries, Duration maxTtl, Duration maxNegativeTtl) {
    return new DnsConfig(host, port, upstreams, searchDomains, timeout, maxPending, maxTcpConnections, entries, maxTtl,
        maxNegativeTtl);
  }

  /** On {@code host:port} with the defaults and {@code upstreams} and search list read from {@code resolvConf}. */
  public static DnsConfig fromResolvConf(String host, int port, Path resolvConf) {
    String text;
    try {
      text = Files.readString(resolvConf);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + resolvConf + " for the DNS proxy's upstream resolver: " + e
          + "; name one with --dns-upstream IP[:PORT]");
    }
    ResolvConf parsed = ResolvConf.parse(text, resolvConf.toString());
    return new DnsConfig(host, port, parsed.nameservers(), parsed.search(), DEFAULT_TIMEOUT, DEFAULT_MAX_PENDING,
        DEFAULT_MAX_TCP_CONNECTIONS);
  }

  /**
   * An upstream given as {@code IP}, {@code IP:PORT} or {@code [IPv6]:PORT} (port 53 by default).
   *
   * @throws IllegalArgumentException naming {@code flag} when it is not one
   */
  public static InetSocketAddress upstream(String flag, String text) {
    String host = text.strip();
    int port = 53;
    if (host.startsWith("[")) {
      int close = host.indexOf(']');
      if (close < 0) {
        throw new IllegalArgumentException(flag + " '" + text + "': expected IP, IP:PORT or [IPv6]:PORT");
      }
      if (close + 1 < host.length()) {
        port = port(flag, text, host.substring(close + 1));
      }
      host = host.substring(1, close);
    } else if (host.indexOf(':') >= 0 && host.indexOf(':') == host.lastIndexOf(':')) {
      port = port(flag, text, host.substring(host.indexOf(':')));
      host = host.substring(0, host.indexOf(':'));
    }
    if (!ResolvConf.isIpLiteral(host)) {
      throw new IllegalArgumentException(flag + " '" + text + "': expected an IP address (no host name: the DNS proxy"
          + " cannot resolve its own resolver)");
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(host), port);
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException(flag + " '" + text + "': " + e.getMessage());
    }
  }

  private static int port(String flag, String text, String colonPort) {
    try {
      int p = Integer.parseInt(colonPort.substring(1));
      if (p < 1 || p > 65535) {
        throw new NumberFormatException();
      }
      return p;
    } catch (NumberFormatException | IndexOutOfBoundsException e) {
      throw new IllegalArgumentException(flag + " '" + text + "': the port is not 1-65535");
    }
  }

  /** The {@code nameserver} and {@code search} (or {@code domain}) lines of a resolv.conf. */
  record ResolvConf(List<InetSocketAddress> nameservers, List<String> search) {
    static ResolvConf parse(String text, String file) {
      List<InetSocketAddress> servers = new ArrayList<>();
      List<String> search = new ArrayList<>();
      for (String raw : text.split("\n")) {
        String line = raw.strip();
        if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
          continue;
        }
        String[] words = line.split("\\s+");
        switch (words[0]) {
          case "nameserver" -> {
            // A link-local server with a zone (fe80::1%eth0) is skipped, as is anything that is not an IP literal.
            if (words.length >= 2 && !words[1].contains("%") && isIpLiteral(words[1])) {
              servers.add(upstream(file + " nameserver", words[1].contains(":") ? "[" + words[1] + "]" : words[1]));
            }
          }
          case "search", "domain" -> {
            search.clear(); // the last of search/domain wins, as in glibc
            for (int i = 1; i < words.length; i++) {
              try {
                search.add(NameTable.normalize(words[i]));
              } catch (IllegalArgumentException ignored) {
                // a search domain we cannot match is one we never strip
              }
            }
          }
          default -> { }
        }
      }
      return new ResolvConf(List.copyOf(servers), List.copyOf(search));
    }

    static boolean isIpLiteral(String s) {
      return s.matches("\\d{1,3}(\\.\\d{1,3}){3}") || (s.contains(":") && s.matches("[0-9a-fA-F:.]+"));
    }
  }
}
