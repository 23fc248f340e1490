package io.keelson.dataplane.filter.rls;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.keelson.dataplane.config.RateLimitPolicy;
import io.keelson.dataplane.route.HeaderMatch;
import io.keelson.dataplane.route.RequestHead;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Builds the descriptors of one request from its route's rate limit policies as Envoy's router does: each policy of
 * the filter's stage whose actions all produce their entry gives one descriptor, its entries in action order; a
 * {@code request_headers} action with {@code skip_if_absent} and no header only leaves its entry out. Stateless;
 * called on whichever thread runs the filters.
 */
final class Descriptors {
  private Descriptors() {}

  /** Appends the descriptors of {@code policies} at {@code stage} to {@code out} (created on the first one); returns it. */
  static List<RateLimitDescriptor> add(List<RateLimitPolicy> policies, int stage, RequestHead head, String cluster,
      String remoteIp, List<RateLimitDescriptor> out) {
    for (int i = 0; i < policies.size(); i++) {
      RateLimitPolicy p = policies.get(i);
      if (p.stage() != stage) {
        continue;
      }
      RateLimitDescriptor d = descriptor(p, head, cluster, remoteIp);
      if (d != null) {
        if (out == null) {
          out = new java.util.ArrayList<>(2);
        }
        out.add(d);
      }
    }
    return out;
  }

  /** The policy's descriptor, or null when one of its actions cannot produce its entry. */
  static RateLimitDescriptor descriptor(RateLimitPolicy p, RequestHead head, String cluster, String remoteIp) {
    RateLimitDescriptor.Builder d = RateLimitDescriptor.newBuilder();
    for (RateLimitPolicy.Action a : p.actions()) {
      switch (a) {
        case RateLimitPolicy.DestinationCluster ignored -> {
          if (cluster == null) {
            return null;
          }
          entry(d, "destination_cluster", cluster);
        }
        case RateLimitPolicy.RequestHeader h -> {
          String v = head.header(h.lowerName());
          if (v == null) {
            if (!h.skipIfAbsent()) {
              return null;
            }
          } else {
            entry(d, h.descriptorKey(), v);
          }
        }
        case RateLimitPolicy.RemoteAddress ignored -> {
          if (remoteIp == null) {
            return null;
          }
          entry(d, "remote_address", remoteIp);
        }
        case RateLimitPolicy.MaskedRemoteAddress m -> {
          String masked = masked(remoteIp, m);
          if (masked == null) {
            return null;
          }
          entry(d, "masked_remote_address", masked);
        }
        case RateLimitPolicy.GenericKey g -> entry(d, g.descriptorKey(), g.descriptorValue());
        case RateLimitPolicy.HeaderValueMatch m -> {
          if (matchesAll(m.headers(), head) != m.expectMatch()) {
            return null;
          }
          entry(d, m.descriptorKey(), m.descriptorValue());
        }
      }
    }
    return d.build();
  }

  private static void entry(RateLimitDescriptor.Builder d, String key, String value) {
    d.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(key).setValue(value));
  }

  private static boolean matchesAll(List<HeaderMatch> headers, RequestHead head) {
    for (int i = 0; i < headers.size(); i++) {
      if (!headers.get(i).matches(head)) {
        return false;
      }
    }
    return true;
  }

  /** {@code ip} masked to the action's prefix length as {@code <address>/<prefix>} (Envoy's form), or null. */
  static String masked(String ip, RateLimitPolicy.MaskedRemoteAddress m) {
    if (ip == null || ip.isEmpty() || !(Character.digit(ip.charAt(0), 16) >= 0 || ip.charAt(0) == ':')) {
      return null;
    }
    byte[] bytes;
    try {
      bytes = InetAddress.ofLiteral(ip).getAddress();
    } catch (IllegalArgumentException e) {
      return null;
    }
    int prefix = bytes.length == 4 ? m.v4PrefixLength() : m.v6PrefixLength();
    for (int i = 0; i < bytes.length; i++) {
      int keep = Math.clamp(prefix - i * 8L, 0, 8);
      bytes[i] &= (byte) (0xff << (8 - keep));
    }
    try {
      return InetAddress.getByAddress(bytes).getHostAddress() + "/" + prefix;
    } catch (UnknownHostException e) {
      return null; // not reached: the length is 4 or 16
    }
  }
}
