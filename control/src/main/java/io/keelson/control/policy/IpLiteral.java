package io.keelson.control.policy;

import java.util.regex.Pattern;

/**
 * The one test of whether a configured host is an IP address literal, for everything the control plane decides by it
 * (a STATIC or a DNS cluster, an iPAddress or a dNSName SAN, an endpoint or a VIP that must be an address): Java's
 * {@link java.net.InetAddress#ofLiteral} (never a DNS lookup; IPv4 {@code d.d.d.d} and its shorter BSD forms, IPv6
 * without brackets or zone), which is also what the data plane accepts as a STATIC cluster's address. Stateless.
 */
public final class IpLiteral {
  /** Four dot-separated decimal parts of one to three digits: the shape of an IPv4 address as people write it. */
  public static final Pattern DOTTED_QUAD = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  private IpLiteral() {}

  /** True when {@code s} is an IPv4 or IPv6 address literal. */
  public static boolean is(String s) {
    if (s == null || s.isEmpty() || !(s.contains(":") || s.chars().allMatch(c -> c == '.' || Character.isDigit(c)))) {
      return false; // a name: not worth an exception
    }
    try {
      return java.net.InetAddress.ofLiteral(s) != null;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** True when {@code s} is an IPv4 address in dotted-quad form ({@link #DOTTED_QUAD}, each part at most 255). */
  public static boolean isIpv4(String s) {
    if (s == null || !DOTTED_QUAD.matcher(s).matches()) {
      return false;
    }
    for (String part : s.split("\\.")) {
      if (Integer.parseInt(part) > 255) {
        return false;
      }
    }
    return true;
  }

  /** {@code host} without the brackets of an IPv6 literal written as in a URL ({@code [::1]}), else itself. */
  public static String unbracketed(String host) {
    return host.length() > 2 && host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1)
        : host;
  }
}
