package io.keelson.control.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.RouteAction;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.List;

/**
 * DestinationRule load balancing to Envoy, as istiod translates it: a {@code simple} policy is the cluster's
 * {@code lb_policy}; {@code consistentHash} makes the cluster RING_HASH (minimum ring 1024 unless set, as istiod) or
 * MAGLEV, and puts the hash key on every route to it as a {@code hash_policy} (header, cookie, source IP, query
 * parameter); {@code warmupDurationSecs}/{@code warmup} is the round robin or least request config's slow start.
 * Stateless.
 */
final class ConsistentHashing {
  /** istiod's minimum ring size when the rule sets none. */
  static final long ISTIO_RING_SIZE = 1024;

  private ConsistentHashing() {}

  /**
   * The load balancing of {@code dr}'s cluster for {@code subset} (null: the host's own) and service port {@code port}
   * (0: none; portLevelSettings); the default without a rule.
   */
  static Policy.Balancing balancing(Policy.DestinationRule dr, String subset, int port) {
    if (dr == null) {
      return Policy.Balancing.DEFAULT;
    }
    Policy.DestinationRule c = dr.forCluster(subset, port);
    return new Policy.Balancing(c.lb(), c.consistentHash(), c.warmup());
  }

  /** Sets the cluster's lb_policy (and ring or table size, or slow start) from {@code b}. */
  static void apply(Cluster.Builder c, Policy.Balancing b) {
    Policy.ConsistentHash h = b.hash();
    if (h == null) {
      c.setLbPolicy(b.simple() == null ? Cluster.LbPolicy.ROUND_ROBIN : Cluster.LbPolicy.valueOf(b.simple()));
      if (b.warmup() != null) {
        slowStart(c, b.warmup());
      }
    } else if (h.maglev()) {
      c.setLbPolicy(Cluster.LbPolicy.MAGLEV);
      if (h.size() != null) {
        c.setMaglevLbConfig(Cluster.MaglevLbConfig.newBuilder()
            .setTableSize(com.google.protobuf.UInt64Value.of(h.size())));
      }
    } else {
      c.setLbPolicy(Cluster.LbPolicy.RING_HASH).setRingHashLbConfig(Cluster.RingHashLbConfig.newBuilder()
          .setMinimumRingSize(com.google.protobuf.UInt64Value.of(h.size() != null ? h.size() : ISTIO_RING_SIZE)));
    }
  }

  /** istiod's {@code setWarmup}: the round robin or least request config's slow_start_config (aggression 1, 10%). */
  private static void slowStart(Cluster.Builder c, Policy.Warmup w) {
    Cluster.SlowStartConfig.Builder s = Cluster.SlowStartConfig.newBuilder()
        .setSlowStartWindow(ResilienceBuilder.duration(w.duration()))
        .setAggression(io.envoyproxy.envoy.config.core.v3.RuntimeDouble.newBuilder()
            .setDefaultValue(w.aggression() != null ? w.aggression() : 1.0))
        .setMinWeightPercent(io.envoyproxy.envoy.type.v3.Percent.newBuilder()
            .setValue(w.minimumPercent() != null ? w.minimumPercent() : 10.0));
    if (c.getLbPolicy() == Cluster.LbPolicy.LEAST_REQUEST) {
      c.setLeastRequestLbConfig(Cluster.LeastRequestLbConfig.newBuilder().setSlowStartConfig(s));
    } else {
      c.setRoundRobinLbConfig(Cluster.RoundRobinLbConfig.newBuilder().setSlowStartConfig(s));
    }
  }

  /**
   * The hash policies of a route to {@code backends}: each backend's consistent hash key (its subset's, else its
   * DestinationRule's), once each, in backend order. Empty when none of them hashes.
   */
  static List<RouteAction.HashPolicy> hashPolicies(PolicySet state, List<Policy.Backend> backends, ClusterNames names) {
    List<RouteAction.HashPolicy> out = new ArrayList<>();
    for (Policy.Backend b : backends) {
      Policy.DestinationRule dr = MeshTranslator.destinationRule(state, b.service());
      // The cluster's own balancing: its subset's and port's (portLevelSettings), merged as istiod does.
      Policy.ConsistentHash h = dr == null ? null
          : dr.forCluster(b.subset(), names.portOf(b.service(), b.port())).consistentHash();
      if (h != null) {
        RouteAction.HashPolicy p = hashPolicy(h);
        if (!out.contains(p)) {
          out.add(p);
        }
      }
    }
    return out;
  }

  static RouteAction.HashPolicy hashPolicy(Policy.ConsistentHash h) {
    RouteAction.HashPolicy.Builder p = RouteAction.HashPolicy.newBuilder();
    switch (h.source()) {
      case HEADER -> p.setHeader(RouteAction.HashPolicy.Header.newBuilder().setHeaderName(h.name()));
      case QUERY_PARAMETER -> p.setQueryParameter(RouteAction.HashPolicy.QueryParameter.newBuilder().setName(h.name()));
      case SOURCE_IP -> p.setConnectionProperties(
          RouteAction.HashPolicy.ConnectionProperties.newBuilder().setSourceIp(true));
      case COOKIE -> {
        RouteAction.HashPolicy.Cookie.Builder c = RouteAction.HashPolicy.Cookie.newBuilder().setName(h.name());
        if (h.cookieTtl() != null) {
          c.setTtl(ResilienceBuilder.duration(h.cookieTtl()));
        }
        if (h.cookiePath() != null) {
          c.setPath(h.cookiePath());
        }
        p.setCookie(c);
      }
    }
    return p.build();
  }
}
