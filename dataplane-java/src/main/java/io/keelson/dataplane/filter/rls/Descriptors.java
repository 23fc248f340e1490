package io.keelson.dataplane.filter.rls;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.type.v3.RateLimitUnit;
import io.keelson.dataplane.config.RateLimitPolicy;
import io.keelson.dataplane.filter.DynamicMetadata;
import io.keelson.dataplane.route.HeaderMatch;
import io.keelson.dataplane.route.QueryMatch;
import io.keelson.dataplane.route.RequestHead;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;

/**
 * Builds the descriptors of one request from its route's rate limit policies as Envoy's router does: each policy of
 * the filter's stage whose actions all produce their entry gives one descriptor, its entries in action order; a
 * {@code request_headers} (or {@code query_parameters}, {@code metadata}) action with {@code skip_if_absent} and no
 * value only leaves its entry out; a policy's {@code limit} override is read from the dynamic metadata. Stateless;
 * called on whichever thread runs the filters.
 */
final class Descriptors {
  private Descriptors() {}

  /** Appends the descriptors of {@code policies} at {@code stage} to {@code out} (created on the first one); returns it. */
  static List<RateLimitDescriptor> add(List<RateLimitPolicy> policies, int stage, RequestHead head, String cluster,
      String remoteIp, DynamicMetadata metadata, List<RateLimitDescriptor> out) {
    for (int i = 0; i < policies.size(); i++) {
      RateLimitPolicy p = policies.get(i);
      if (p.stage() != stage) {
        continue;
      }
      RateLimitDescriptor d = descriptor(p, head, cluster, remoteIp, metadata);
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
  static RateLimitDescriptor descriptor(RateLimitPolicy p, RequestHead head, String cluster, String remoteIp,
      DynamicMetadata metadata) {
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
          String v = HeaderMatch.valueOf(head, h.lowerName()); // :path, :method, :authority as Envoy reads them
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
        case RateLimitPolicy.QueryParameter q -> {
          String v = QueryMatch.firstValue(head.query(), q.name());
          if (v == null) {
            if (!q.skipIfAbsent()) {
              return null;
            }
          } else {
            entry(d, q.descriptorKey(), v);
          }
        }
        case RateLimitPolicy.QueryParameterValueMatch m -> {
          if (queriesMatchAll(m.parameters(), head) != m.expectMatch()) {
            return null;
          }
          entry(d, m.descriptorKey(), m.descriptorValue());
        }
        case RateLimitPolicy.Metadata m -> {
          Object v = metadata == null ? null : metadata.value(m.filter(), m.path());
          String value = v instanceof String str && !str.isEmpty() ? str : m.defaultValue();
          if (value.isEmpty()) {
            if (!m.skipIfAbsent()) {
              return null;
            }
          } else {
            entry(d, m.descriptorKey(), value);
          }
        }
      }
    }
    if (p.limit() != null && metadata != null) {
      RateLimitDescriptor.RateLimitOverride limit = limitOverride(metadata.value(p.limit().filter(), p.limit().pathArray()));
      if (limit != null) {
        d.setLimit(limit);
      }
    }
    return d.build();
  }

  /**
   * Envoy's dynamic-metadata limit override: a struct with a whole {@code requests_per_unit} and a {@code unit}
   * (SECOND, MINUTE, HOUR, DAY, MONTH, YEAR, any case), or null when the value is not one.
   */
  static RateLimitDescriptor.RateLimitOverride limitOverride(Object value) {
    if (!(value instanceof java.util.Map<?, ?> m) || !(m.get("requests_per_unit") instanceof Number n)
        || !(m.get("unit") instanceof String unit)) {
      return null;
    }
    double requests = n.doubleValue();
    if (requests < 0 || requests > 0xFFFF_FFFFL || requests != Math.rint(requests)) {
      return null;
    }
    RateLimitUnit u;
    try {
      u = RateLimitUnit.valueOf(unit.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      return null;
    }
    if (u == RateLimitUnit.UNKNOWN || u == RateLimitUnit.UNRECOGNIZED) {
      return null;
    }
    return RateLimitDescriptor.RateLimitOverride.newBuilder().setRequestsPerUnit((int) (long) requests).setUnit(u).build();
  }

  private static void entry(RateLimitDescriptor.Builder d, String key, String value) {
    d.addEntries(RateLimitDescriptor.Entry.newBuilder().setKey(key).setValue(value));
  }

  private static boolean queriesMatchAll(List<QueryMatch> parameters, RequestHead head) {
    for (int i = 0; i < parameters.size(); i++) {
      if (!parameters.get(i).matches(head)) {
        return false;
      }
    }
    return true;
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
