package io.keelson.control.xds;

import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.keelson.control.policy.Locality;
import io.keelson.control.policy.Policy;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Keeps one translator's ClusterLoadAssignments from one translation to the next: a cluster whose
 * workloads are the same instances, in the same order, as last time gets the very same
 * ClusterLoadAssignment instance back (so it is neither rebuilt, nor digested, nor serialized
 * again: {@link PackedResources} finds it by identity), and a changed cluster reuses the
 * LbEndpoints of its unchanged workloads. Workloads are grouped by their locality, one LocalityLbEndpoints each,
 * all at priority 0: what a proxy in a given locality is sent is derived from it by {@link LocalityAssignments}.
 * A store change keeps the instances of the documents it
 * does not touch, so a change of one workload among 10,000 rebuilds only the lists that hold it.
 * Thread-safe (one translation at a time).
 */
final class AssignmentCache {
  /** {@code lbs}: each member's LbEndpoint, in {@code members}' order. */
  private record Entry(List<Policy.Workload> members, List<LbEndpoint> lbs, ClusterLoadAssignment assignment,
      byte[] digest) {}

  private Map<String, Entry> byCluster = new HashMap<>();
  private Map<Policy.Workload, LbEndpoint> endpoints = new IdentityHashMap<>();
  private Map<Policy.Workload, LbEndpoint> nextEndpoints = new IdentityHashMap<>();
  private Map<String, Entry> nextByCluster = new HashMap<>();
  private final Map<ClusterLoadAssignment, byte[]> digests = new IdentityHashMap<>();
  private long built;

  /** Starts a translation: what the previous one built is what this one may reuse. */
  synchronized void begin() {
    nextByCluster = new HashMap<>();
    nextEndpoints = new IdentityHashMap<>();
  }

  /** Ends a translation: anything it did not use is dropped. */
  synchronized void end() {
    byCluster = nextByCluster;
    endpoints = nextEndpoints;
    digests.clear();
    byCluster.values().forEach(e -> digests.put(e.assignment, e.digest));
  }

  /** {@code members}: the cluster's workloads in name order. */
  synchronized ClusterLoadAssignment assignment(String cluster, List<Policy.Workload> members, boolean localityWeight) {
    Entry e = byCluster.get(cluster);
    if (e == null || !sameInstances(e.members, members)) {
      List<LbEndpoint> lbs = new ArrayList<>(members.size());
      ClusterLoadAssignment a = build(cluster, members, localityWeight, lbs);
      built++;
      e = new Entry(List.copyOf(members), lbs, a, digest(a));
    } else {
      // carry its LbEndpoints forward, for the lists that do change later
      for (int i = 0; i < members.size(); i++) {
        nextEndpoints.putIfAbsent(members.get(i), e.lbs.get(i));
      }
    }
    nextByCluster.put(cluster, e);
    return e.assignment;
  }

  /** ClusterLoadAssignments built so far (the others were reused). */
  synchronized long built() {
    return built;
  }

  /** The SHA-256 of an assignment this cache built in the current or previous translation, or null. */
  synchronized byte[] digestOf(ClusterLoadAssignment a) {
    Entry e = nextByCluster.get(a.getClusterName());
    if (e != null && e.assignment == a) {
      return e.digest;
    }
    return digests.get(a);
  }

  private static boolean sameInstances(List<Policy.Workload> a, List<Policy.Workload> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (a.get(i) != b.get(i)) {
        return false;
      }
    }
    return true;
  }

  /**
   * One LocalityLbEndpoints per locality of {@code members} (in locality order; workloads without one in a group
   * without a locality, first), which carries its Locality: proxies weigh and prioritise them by it
   * ({@link LocalityAssignments}). {@code lbs} receives each member's LbEndpoint, in order.
   */
  private ClusterLoadAssignment build(String cluster, List<Policy.Workload> members, boolean localityWeight,
      List<LbEndpoint> lbs) {
    Map<String, LocalityLbEndpoints.Builder> groups = new TreeMap<>();
    for (Policy.Workload w : members) {
      LbEndpoint lb = nextEndpoints.get(w);
      if (lb == null) {
        lb = endpoints.get(w);
        if (lb == null) {
          LbEndpoint.Builder lbb = LbEndpoint.newBuilder()
              .setEndpoint(Endpoint.newBuilder().setAddress(MeshTranslator.address(w.address(), w.port())));
          if (localityWeight) {
            lbb.setLoadBalancingWeight(UInt32Value.of(1)); // gRPC clients get it spelled out
          }
          // Envoy and Keelson read a missing weight as 1: 4 bytes less per endpoint, ~16% of a 10,000-endpoint push
          lb = lbb.build();
        }
        nextEndpoints.put(w, lb);
      }
      lbs.add(lb);
      Locality where = w.locality();
      groups.computeIfAbsent(where.toString(), k -> group(where)).addLbEndpoints(lb);
    }
    ClusterLoadAssignment.Builder b = ClusterLoadAssignment.newBuilder().setClusterName(cluster);
    for (LocalityLbEndpoints.Builder group : groups.values()) {
      if (localityWeight) {
        // gRPC clients drop localities without a weight (Keelson's proxy only warns): as istiod, its endpoints' count.
        group.setLoadBalancingWeight(UInt32Value.of(group.getLbEndpointsCount()));
      }
      b.addEndpoints(group);
    }
    return b.build();
  }

  /** A LocalityLbEndpoints carrying {@code where} (nothing for {@link Locality#NONE}). */
  static LocalityLbEndpoints.Builder group(Locality where) {
    LocalityLbEndpoints.Builder group = LocalityLbEndpoints.newBuilder();
    if (!where.isEmpty()) {
      group.setLocality(where.toProto());
    }
    return group;
  }

  static byte[] digest(com.google.protobuf.Message m) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(m.toByteArray());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
