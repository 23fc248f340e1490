package io.keelson.control.xds;

import io.keelson.control.policy.Policy;
import java.nio.charset.StandardCharsets;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Each service's VIP (Istio's {@code ISTIO_META_DNS_AUTO_ALLOCATE}): the address the sidecar's DNS proxy answers for
 * its names and a captured sidecar's listeners tell TCP services apart by. A service document's own
 * {@code spec.addresses} wins (IPv4 or IPv6: a literal, never allocated); the others get one from {@value #AUTO_RANGE} (Istio's range), in name order, at a slot
 * chosen by a hash of the name (FNV-1a), probing onwards past taken slots and past host parts .0 and .255. The result
 * is a pure function of the registry's services: the same on every control-plane replica sharing a store and after a
 * restart, and a service keeps its VIP when others come and go unless it had collided with one (1 in about 65,000
 * per pair). Stateless.
 */
public final class ServiceAddresses {
  public static final String AUTO_RANGE = "240.240.0.0/16";
  private static final io.keelson.control.policy.Cidr IPV4_COMPATIBLE = io.keelson.control.policy.Cidr.parse("::/96");
  private static final io.keelson.control.policy.Cidr LINK_LOCAL = io.keelson.control.policy.Cidr.parse("fe80::/10");
  private static final int BASE = (240 << 24) | (240 << 16);
  private static final int SLOTS = 1 << 16;

  private ServiceAddresses() {}

  /** Every service's VIP, by service name; an IPv6 one as Envoy writes it (RFC 5952: {@code 2001:db8::10}). */
  public static Map<String, String> of(List<Policy.Service> services) {
    Map<String, String> out = new TreeMap<>();
    Set<String> taken = new HashSet<>();
    List<Policy.Service> sorted = services.stream().sorted(Comparator.comparing(Policy::name)).toList();
    for (Policy.Service s : sorted) {
      if (s.address() != null) {
        String vip = io.keelson.control.policy.Cidr.parse(s.address()).addressText();
        if (taken.add(vip)) {
          out.put(s.name(), vip);
        }
      }
    }
    for (Policy.Service s : sorted) {
      if (out.containsKey(s.name())) {
        continue;
      }
      int slot = Integer.remainderUnsigned(fnv(s.name()), SLOTS);
      while (!usable(slot) || taken.contains(text(BASE | slot))) {
        slot = (slot + 1) % SLOTS;
      }
      taken.add(text(BASE | slot));
      out.put(s.name(), text(BASE | slot));
    }
    return out;
  }

  /**
   * Why {@code address} cannot be a service's VIP, or null when it can: a unicast IPv4 address (not loopback,
   * unspecified, multicast or broadcast) or a unicast IPv6 literal (not unspecified, loopback, multicast,
   * IPv4-mapped, IPv4-compatible or link-local: {@link #reservedIpv6Problem}).
   */
  public static String problem(String address) {
    if (address.contains(":")) {
      return ipv6Problem(address);
    }
    if (!io.keelson.control.policy.IpLiteral.isIpv4(address)) {
      return io.keelson.control.policy.IpLiteral.DOTTED_QUAD.matcher(address).matches()
          ? "is not an IPv4 address (an octet over 255)"
          : "is not an IP address; expected e.g. 240.240.0.10 or 2001:db8::10";
    }
    int a = toInt(address);
    int first = a >>> 24;
    if (first == 0 || first == 127 || (first >= 224 && first < 240) || a == -1) {
      return "cannot be a service address (unspecified, loopback, multicast or broadcast); expected a unicast IPv4"
          + " address, e.g. from " + AUTO_RANGE;
    }
    return null;
  }

  private static String ipv6Problem(String address) {
    if (!io.keelson.control.policy.IpLiteral.is(address)) {
      return "is not an IPv6 address; expected e.g. 2001:db8::10";
    }
    java.net.InetAddress ip = java.net.InetAddress.ofLiteral(address);
    if (!(ip instanceof java.net.Inet6Address)) {
      return "is an IPv4-mapped IPv6 address; expected the IPv4 address itself (" + ip.getHostAddress() + ")";
    }
    if (ip.isAnyLocalAddress() || ip.isLoopbackAddress() || ip.isMulticastAddress()) {
      return "cannot be a service address (unspecified, loopback or multicast); expected a unicast IPv6 address, e.g."
          + " 2001:db8::10";
    }
    return reservedIpv6Problem(io.keelson.control.policy.Cidr.parse(address));
  }

  /**
   * Why IPv6 {@code prefix} (an address or a range) is inside a block no service address can be in, or null:
   * IPv4-compatible {@code ::/96} (it holds {@code ::6}, a captured sidecar's inbound passthrough source) or link-local
   * {@code fe80::/10} (one link's only), as IPv4 loopback is refused.
   */
  public static String reservedIpv6Problem(io.keelson.control.policy.Cidr prefix) {
    if (IPV4_COMPATIBLE.contains(prefix)) {
      return "is inside ::/96 (IPv4-compatible IPv6, which holds ::6, the captured sidecar's inbound passthrough"
          + " source); expected a global or unique-local IPv6 address, e.g. 2001:db8::10";
    }
    if (LINK_LOCAL.contains(prefix)) {
      return "is inside fe80::/10 (link-local: one link's only); expected a global or unique-local IPv6 address, e.g."
          + " 2001:db8::10";
    }
    return null;
  }

  private static boolean usable(int slot) {
    int host = slot & 0xFF;
    return host != 0 && host != 0xFF;
  }

  private static int fnv(String name) {
    int h = 0x811C9DC5;
    for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xFF)) * 0x01000193;
    }
    return h;
  }

  static int toInt(String address) {
    String[] p = address.split("\\.");
    return (Integer.parseInt(p[0]) << 24) | (Integer.parseInt(p[1]) << 16) | (Integer.parseInt(p[2]) << 8)
        | Integer.parseInt(p[3]);
  }

  private static String text(int a) {
    return (a >>> 24) + "." + ((a >>> 16) & 0xFF) + "." + ((a >>> 8) & 0xFF) + "." + (a & 0xFF);
  }
}
