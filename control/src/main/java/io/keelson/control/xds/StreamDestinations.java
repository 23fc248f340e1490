package io.keelson.control.xds;

import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.time.Duration;
import java.util.List;

/**
 * What a tcp_proxy takes from the DestinationRules of the clusters it sends to (each cluster's policy merged for its
 * subset and port, {@link Policy.DestinationRule#forCluster}): {@code connectionPool.tcp.idleTimeout} as
 * {@code idle_timeout} (unset: 1h, Istio's and Envoy's default, which the data plane applies; {@code 0s}: never). With
 * weighted destinations the longest of theirs (a destination without one counting as 1h), so that no destination's
 * connections are closed sooner than its rule says. A {@code loadBalancer.consistentHash.useSourceIp} as
 * {@code hash_policy: source_ip} (its clusters are ring hash or Maglev, {@link ConsistentHashing}), so one client's
 * connections go to one endpoint; the other hash keys are HTTP's and mean nothing to a byte stream. Stateless.
 */
final class StreamDestinations {
  /** Istio's (and Envoy's) tcp_proxy idle timeout when no rule sets one. */
  static final Duration DEFAULT_IDLE = Duration.ofHours(1);

  private StreamDestinations() {}

  /** @param backends the tcp_proxy's destinations (a service or host without a rule's route: that host alone) */
  static void apply(TcpProxy.Builder tp, PolicySet state, List<Policy.Backend> backends, ClusterNames names) {
    Duration idle = null;
    boolean anySet = false;
    boolean sourceIp = false;
    for (Policy.Backend b : backends) {
      if (b.service() == null || (b.weight() <= 0 && backends.size() > 1)) {
        continue;
      }
      Policy.DestinationRule dr = MeshTranslator.destinationRule(state, b.service());
      Policy.DestinationRule c = dr == null ? null : dr.forCluster(b.subset(), names.portOf(b.service(), b.port()));
      sourceIp |= c != null && c.consistentHash() != null
          && c.consistentHash().source() == Policy.HashSource.SOURCE_IP;
      Duration own = c == null || c.connectionPool() == null ? null : c.connectionPool().tcpIdleTimeout();
      anySet |= own != null;
      Duration d = own == null ? DEFAULT_IDLE : own;
      if (idle == null || (!idle.isZero() && (d.isZero() || d.compareTo(idle) > 0))) {
        idle = d; // 0s (never) outlasts every timeout
      }
    }
    if (anySet) {
      tp.setIdleTimeout(ResilienceBuilder.duration(idle));
    }
    if (sourceIp) {
      tp.addHashPolicy(io.envoyproxy.envoy.type.v3.HashPolicy.newBuilder()
          .setSourceIp(io.envoyproxy.envoy.type.v3.HashPolicy.SourceIp.getDefaultInstance()));
    }
  }
}
