package io.keelson.control.capture;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The nat-table rules that capture a sidecar's traffic, istio-iptables' rule set with chains of
 * Keelson's own, rendered as {@code iptables-restore --noflush} input: install (replacing an
 * earlier install) and cleanup (removing exactly what install added), for IPv4 ({@code iptables-restore}) and
 * IPv6 ({@code ip6tables-restore}: the same chains, {@code ::1/128} for 127.0.0.1 and istio-iptables' {@code ::6} as
 * the inbound passthrough source; each family's own outbound CIDRs; no DNS rules: the DNS proxy listens on
 * 127.0.0.1). Immutable; pure (the current {@code iptables-save -t nat} text is passed in, never read here).
 *
 * <pre>
 * PREROUTING -p tcp → KEELSON_INBOUND: excluded ports RETURN; "*" → KEELSON_IN_REDIRECT, or listed ports → it
 * KEELSON_IN_REDIRECT: REDIRECT --to-ports inboundPort
 * OUTPUT -p tcp → KEELSON_OUTPUT:
 *   excluded outbound ports RETURN
 *   -o lo -s 127.0.0.6 RETURN                       (the proxy's inbound passthrough source)
 *   per proxy uid (then gid): -o lo ! -d 127.0.0.1 owner → KEELSON_IN_REDIRECT (the proxy calling its own pod IP)
 *                             -o lo ! owner RETURN (an app calling itself over lo), owner RETURN (the proxy's own traffic)
 *   -d 127.0.0.1/32 RETURN; excluded CIDRs RETURN
 *   "*" → KEELSON_REDIRECT, or included CIDRs → it
 * (IPv6: ::6/128 and ::1/128 instead, the CIDRs of that family)
 * KEELSON_REDIRECT: REDIRECT --to-ports outboundPort
 * with a DNS port (--redirect-dns), istio-iptables' DNS capture:
 * OUTPUT -p udp --dport 53 → KEELSON_DNS; first in KEELSON_OUTPUT: -p tcp --dport 53 → KEELSON_DNS
 * KEELSON_DNS: per proxy uid (then gid) owner RETURN (the DNS proxy's own upstream queries); REDIRECT --to-ports dnsPort
 * </pre>
 *
 * @param outboundPort        where outbound TCP is redirected (the sidecar's virtualOutbound, 15001)
 * @param inboundPort         where inbound TCP is redirected (its virtualInbound, 15006)
 * @param proxyUids           users whose traffic is the proxy's own (owner match); with proxyGids at least one
 * @param proxyGids           groups likewise
 * @param includeInboundPorts inbound ports captured; {@code ["*"]} for all, empty for none
 * @param excludeInboundPorts inbound ports not captured when all are (always has the admin port)
 * @param excludeOutboundPorts outbound destination ports not captured
 * @param excludeOutboundCidrs outbound destinations not captured (both families; each table gets its own)
 * @param includeOutboundCidrs outbound destinations captured; {@code ["*"]} for all (both families), empty for none
 * @param dnsPort             where the app's DNS (UDP and TCP port 53) is redirected (the sidecar's DNS proxy, 15053),
 *                            or 0: not captured
 */
public record IptablesRules(int outboundPort, int inboundPort, List<Integer> proxyUids, List<Integer> proxyGids,
    List<String> includeInboundPorts, List<Integer> excludeInboundPorts, List<Integer> excludeOutboundPorts,
    List<String> excludeOutboundCidrs, List<String> includeOutboundCidrs, int dnsPort) {

  /** Without DNS capture. */
  public IptablesRules(int outboundPort, int inboundPort, List<Integer> proxyUids, List<Integer> proxyGids,
      List<String> includeInboundPorts, List<Integer> excludeInboundPorts, List<Integer> excludeOutboundPorts,
      List<String> excludeOutboundCidrs, List<String> includeOutboundCidrs) {
    this(outboundPort, inboundPort, proxyUids, proxyGids, includeInboundPorts, excludeInboundPorts, excludeOutboundPorts,
        excludeOutboundCidrs, includeOutboundCidrs, 0);
  }

  public static final String OUTPUT_CHAIN = "KEELSON_OUTPUT";
  public static final String REDIRECT_CHAIN = "KEELSON_REDIRECT";
  public static final String INBOUND_CHAIN = "KEELSON_INBOUND";
  public static final String IN_REDIRECT_CHAIN = "KEELSON_IN_REDIRECT";
  public static final String DNS_CHAIN = "KEELSON_DNS";
  /** Our chains, in the order they are declared. */
  public static final List<String> CHAINS = List.of(INBOUND_CHAIN, IN_REDIRECT_CHAIN, OUTPUT_CHAIN, REDIRECT_CHAIN, DNS_CHAIN);
  /** The app's DNS over UDP into our DNS chain (TCP gets there from the first rule of our output chain). */
  static final String DNS_UDP_JUMP = "-A OUTPUT -p udp -m udp --dport 53 -j " + DNS_CHAIN;
  /** The jumps from the built-in chains into ours: the only rules outside our chains. */
  static final String PREROUTING_JUMP = "-A PREROUTING -p tcp -j " + INBOUND_CHAIN;
  static final String OUTPUT_JUMP = "-A OUTPUT -p tcp -j " + OUTPUT_CHAIN;
  private static final String WILDCARD = "*";

  /**
   * The address family a table is for: its loopback address and where a sidecar's inbound passthrough connections come
   * from (istio-iptables' 127.0.0.6 and ::6; {@code bin/keelson iptables --ipv6} puts ::6/128 on lo, as Istio does, since
   * IPv6 loopback is one address).
   */
  public enum Family {
    IPV4("127.0.0.1/32", "127.0.0.6/32"),
    IPV6("::1/128", "::6/128");

    final String localhost;
    final String inboundPassthroughSource;

    Family(String localhost, String inboundPassthroughSource) {
      this.localhost = localhost;
      this.inboundPassthroughSource = inboundPassthroughSource;
    }

    /** The inbound passthrough source, as a /32 or /128 prefix. */
    public String inboundPassthroughSource() {
      return inboundPassthroughSource;
    }

    boolean has(String cidr) {
      return cidr.contains(":") == (this == IPV6);
    }
  }

  public IptablesRules {
    if (proxyUids.isEmpty() && proxyGids.isEmpty()) {
      throw new IllegalArgumentException("--proxy-uid or --proxy-gid is required: the user (or group) the sidecar"
          + " runs as, whose own traffic must not be redirected back to it");
    }
    proxyUids = List.copyOf(proxyUids);
    proxyGids = List.copyOf(proxyGids);
    includeInboundPorts = List.copyOf(includeInboundPorts);
    excludeInboundPorts = List.copyOf(excludeInboundPorts);
    excludeOutboundPorts = List.copyOf(excludeOutboundPorts);
    excludeOutboundCidrs = List.copyOf(excludeOutboundCidrs);
    includeOutboundCidrs = List.copyOf(includeOutboundCidrs);
  }

  /**
   * The install input: our chains declared (an existing one is flushed, so a re-run replaces it)
   * and filled, and the jumps from PREROUTING/OUTPUT added unless {@code currentNat} (iptables-save
   * -t nat output; empty for a fresh namespace) already has them. One COMMIT: all or nothing.
   */
  public String install(String currentNat) {
    return install(currentNat, Family.IPV4);
  }

  /**
   * As {@link #install(String)} for {@code family}'s table ({@code ip6tables-save -t nat} for IPv6): that family's
   * loopback and passthrough source, its CIDRs of the exclude and include lists; DNS capture only for IPv4.
   */
  public String install(String currentNat, Family family) {
    StringBuilder s = new StringBuilder("*nat\n");
    boolean dns = dnsPort > 0 && family == Family.IPV4;
    boolean dnsChainThere = hasChain(currentNat, DNS_CHAIN);
    for (String chain : CHAINS) {
      if (!chain.equals(DNS_CHAIN) || dns || dnsChainThere) {
        s.append(':').append(chain).append(" - [0:0]\n");
      }
    }
    boolean inbound = !includeInboundPorts.isEmpty();
    if (inbound && !hasRule(currentNat, PREROUTING_JUMP)) {
      s.append(PREROUTING_JUMP).append('\n');
    }
    if (!inbound && hasRule(currentNat, PREROUTING_JUMP)) {
      s.append(PREROUTING_JUMP.replaceFirst("^-A", "-D")).append('\n'); // a re-run without inbound capture
    }
    if (!hasRule(currentNat, OUTPUT_JUMP)) {
      s.append(OUTPUT_JUMP).append('\n');
    }
    if (dns && !hasRule(currentNat, DNS_UDP_JUMP)) {
      s.append(DNS_UDP_JUMP).append('\n');
    }
    if (!dns && hasRule(currentNat, DNS_UDP_JUMP)) {
      s.append(DNS_UDP_JUMP.replaceFirst("^-A", "-D")).append('\n'); // a re-run without DNS capture
    }
    if (dns) {
      // The proxy's own queries (to the upstream resolver) leave as they are; everyone else's go to the DNS proxy.
      for (int uid : proxyUids) {
        s.append(rule(DNS_CHAIN, "-m owner --uid-owner " + uid + " -j RETURN"));
      }
      for (int gid : proxyGids) {
        s.append(rule(DNS_CHAIN, "-m owner --gid-owner " + gid + " -j RETURN"));
      }
      s.append(rule(DNS_CHAIN, "-p udp -j REDIRECT --to-ports " + dnsPort));
      s.append(rule(DNS_CHAIN, "-p tcp -j REDIRECT --to-ports " + dnsPort));
      // Before the loopback and owner rules: an app asking a resolver on 127.0.0.x is captured too.
      s.append(rule(OUTPUT_CHAIN, "-p tcp -m tcp --dport 53 -j " + DNS_CHAIN));
    }
    // Inbound.
    s.append(rule(IN_REDIRECT_CHAIN, "-p tcp -j REDIRECT --to-ports " + inboundPort));
    if (includeInboundPorts.equals(List.of(WILDCARD))) {
      for (int p : excludeInboundPorts) {
        s.append(rule(INBOUND_CHAIN, "-p tcp -m tcp --dport " + p + " -j RETURN"));
      }
      s.append(rule(INBOUND_CHAIN, "-p tcp -j " + IN_REDIRECT_CHAIN));
    } else {
      for (String p : includeInboundPorts) {
        s.append(rule(INBOUND_CHAIN, "-p tcp -m tcp --dport " + p + " -j " + IN_REDIRECT_CHAIN));
      }
    }
    // Outbound.
    s.append(rule(REDIRECT_CHAIN, "-p tcp -j REDIRECT --to-ports " + outboundPort));
    for (int p : excludeOutboundPorts) {
      s.append(rule(OUTPUT_CHAIN, "-p tcp -m tcp --dport " + p + " -j RETURN"));
    }
    s.append(rule(OUTPUT_CHAIN, "-s " + family.inboundPassthroughSource + " -o lo -j RETURN"));
    for (int uid : proxyUids) {
      owner(s, "--uid-owner", uid, inbound, family);
    }
    for (int gid : proxyGids) {
      owner(s, "--gid-owner", gid, inbound, family);
    }
    s.append(rule(OUTPUT_CHAIN, "-d " + family.localhost + " -j RETURN"));
    for (String cidr : excludeOutboundCidrs.stream().filter(family::has).toList()) {
      s.append(rule(OUTPUT_CHAIN, "-d " + cidr + " -j RETURN"));
    }
    if (includeOutboundCidrs.equals(List.of(WILDCARD))) {
      s.append(rule(OUTPUT_CHAIN, "-j " + REDIRECT_CHAIN));
    } else {
      for (String cidr : includeOutboundCidrs.stream().filter(family::has).toList()) {
        s.append(rule(OUTPUT_CHAIN, "-d " + cidr + " -j " + REDIRECT_CHAIN));
      }
    }
    if (!dns && dnsChainThere) {
      s.append("-X ").append(DNS_CHAIN).append('\n'); // a re-run without DNS capture: flushed above, now removed
    }
    return s.append("COMMIT\n").toString();
  }

  /** istio-iptables' owner rules for one uid or gid of the proxy. */
  private static void owner(StringBuilder s, String match, int id, boolean inbound, Family family) {
    if (inbound) {
      // The proxy calling its own pod IP over lo: that is inbound traffic for this pod, so it goes through the inbound chain.
      s.append(rule(OUTPUT_CHAIN, "! -d " + family.localhost + " -o lo -m owner " + match + " " + id + " -j "
          + IN_REDIRECT_CHAIN));
    }
    s.append(rule(OUTPUT_CHAIN, "-o lo -m owner ! " + match + " " + id + " -j RETURN"));
    s.append(rule(OUTPUT_CHAIN, "-m owner " + match + " " + id + " -j RETURN"));
  }

  /**
   * The cleanup input for {@code currentNat}: the jumps we added deleted, our chains flushed and
   * deleted. Null when nothing of ours is there (nothing to do).
   */
  public static String cleanup(String currentNat) {
    List<String> lines = new ArrayList<>();
    for (String jump : List.of(PREROUTING_JUMP, OUTPUT_JUMP, DNS_UDP_JUMP)) {
      for (int i = count(currentNat, jump); i > 0; i--) {
        lines.add(jump.replaceFirst("^-A", "-D"));
      }
    }
    List<String> present = CHAINS.stream().filter(c -> hasChain(currentNat, c)).toList();
    if (lines.isEmpty() && present.isEmpty()) {
      return null;
    }
    StringBuilder s = new StringBuilder("*nat\n");
    present.forEach(c -> s.append(':').append(c).append(" - [0:0]\n")); // declaring flushes it
    lines.forEach(l -> s.append(l).append('\n'));
    present.forEach(c -> s.append("-X ").append(c).append('\n'));
    return s.append("COMMIT\n").toString();
  }

  private static String rule(String chain, String spec) {
    return "-A " + chain + " " + spec + "\n";
  }

  static boolean hasRule(String save, String rule) {
    return count(save, rule) > 0;
  }

  private static int count(String save, String rule) {
    int n = 0;
    for (String line : save.split("\n")) {
      if (line.strip().equals(rule)) {
        n++;
      }
    }
    return n;
  }

  static boolean hasChain(String save, String chain) {
    return Pattern.compile("^:" + Pattern.quote(chain) + " ", Pattern.MULTILINE).matcher(save).find();
  }

  /** True when {@code currentNat} has any chain or jump of ours. */
  public static boolean installed(String currentNat) {
    return cleanup(currentNat) != null;
  }

  // ---- flag values ----

  private static final Pattern CIDR = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})(?:/(\\d{1,2}))?");

  /** A comma-separated port list ({@code flag} names it in the error); empty text, empty list. */
  public static List<Integer> ports(String flag, String text) {
    List<Integer> out = new ArrayList<>();
    for (String p : items(text)) {
      out.add(port(flag, p));
    }
    return out;
  }

  /** {@code *} or a port list, as text. */
  public static List<String> portsOrWildcard(String flag, String text) {
    if (text.strip().equals(WILDCARD)) {
      return List.of(WILDCARD);
    }
    return ports(flag, text).stream().map(String::valueOf).toList();
  }

  /**
   * {@code *} or a comma-separated list of IPv4 and IPv6 CIDRs (an address alone is /32 or /128; an IPv6 one written as
   * Envoy and ip6tables-save read it: host bits masked, RFC 5952 text).
   */
  public static List<String> cidrsOrWildcard(String flag, String text, boolean wildcardAllowed) {
    if (text.strip().equals(WILDCARD)) {
      if (!wildcardAllowed) {
        throw new IllegalArgumentException(flag + ": '*' is not accepted here; expected CIDRs such as 10.0.0.0/8 or"
            + " fd00::/8");
      }
      return List.of(WILDCARD);
    }
    List<String> out = new ArrayList<>();
    for (String c : items(text)) {
      if (c.contains(":")) {
        String problem = io.keelson.control.policy.Cidr.problem(c);
        if (problem != null) {
          throw new IllegalArgumentException(flag + ": '" + c + "' " + problem);
        }
        out.add(io.keelson.control.policy.Cidr.canonical(c));
        continue;
      }
      Matcher m = CIDR.matcher(c);
      boolean ok = m.matches();
      for (int i = 1; ok && i <= 4; i++) {
        ok = Integer.parseInt(m.group(i)) <= 255;
      }
      if (ok && m.group(5) != null && Integer.parseInt(m.group(5)) > 32) {
        ok = false;
      }
      if (!ok) {
        throw new IllegalArgumentException(flag + ": '" + c + "' is not an IPv4 CIDR; expected a list such as"
            + " 10.0.0.0/8,192.168.1.5,fd00::/8");
      }
      out.add(m.group(5) == null ? c + "/32" : c);
    }
    return out;
  }

  /** Comma-separated uids or gids. */
  public static List<Integer> ids(String flag, String text) {
    List<Integer> out = new ArrayList<>();
    for (String id : items(text)) {
      try {
        int v = Integer.parseInt(id);
        if (v < 0) {
          throw new NumberFormatException();
        }
        out.add(v);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(flag + ": '" + id + "' is not a numeric id; expected e.g. 1337 (see id -u)");
      }
    }
    return out;
  }

  public static int port(String flag, String text) {
    try {
      int p = Integer.parseInt(text.strip());
      if (p < 1 || p > 65535) {
        throw new NumberFormatException();
      }
      return p;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + ": '" + text + "' is not a port; expected 1-65535");
    }
  }

  private static List<String> items(String text) {
    List<String> out = new ArrayList<>();
    for (String s : text.split(",")) {
      if (!s.isBlank()) {
        out.add(s.strip());
      }
    }
    return out;
  }
}
