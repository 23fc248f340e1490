package io.keelson.control.xds;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The Envoy v3 resources one proxy gets, with a version per type that is a digest of that type's
 * resources: equal content, equal version, so an unchanged type is never pushed again. Immutable.
 */
public record MeshResources(List<Listener> listeners, List<RouteConfiguration> routes, List<Cluster> clusters,
    List<ClusterLoadAssignment> endpoints, String listenersVersion, String routesVersion, String clustersVersion,
    String endpointsVersion) {

  public static MeshResources of(List<Listener> listeners, List<RouteConfiguration> routes, List<Cluster> clusters,
      List<ClusterLoadAssignment> endpoints) {
    return new MeshResources(List.copyOf(listeners), List.copyOf(routes), List.copyOf(clusters), List.copyOf(endpoints),
        digest(listeners), digest(routes), digest(clusters), digest(endpoints));
  }

  /**
   * This set, with each resource that equals one of {@code previous}'s (same type and name) replaced
   * by {@code previous}'s instance. Unchanged resources keep their identity across translations, so
   * the xDS server's serialized form (cached per message) is found by identity for every proxy instead
   * of by a deep comparison per proxy (10,000 endpoints compared a thousand times). A type whose
   * version did not change is taken whole.
   */
  MeshResources reusing(MeshResources previous) {
    if (previous == null) {
      return this;
    }
    return new MeshResources(
        listenersVersion.equals(previous.listenersVersion) ? previous.listeners
            : reuse(listeners, previous.listeners, Listener::getName),
        routesVersion.equals(previous.routesVersion) ? previous.routes
            : reuse(routes, previous.routes, RouteConfiguration::getName),
        clustersVersion.equals(previous.clustersVersion) ? previous.clusters
            : reuse(clusters, previous.clusters, Cluster::getName),
        endpointsVersion.equals(previous.endpointsVersion) ? previous.endpoints
            : reuse(endpoints, previous.endpoints, ClusterLoadAssignment::getClusterName),
        listenersVersion, routesVersion, clustersVersion, endpointsVersion);
  }

  private static <T extends Message> List<T> reuse(List<T> now, List<T> before, java.util.function.Function<T, String> name) {
    java.util.Map<String, T> old = new java.util.HashMap<>();
    before.forEach(m -> old.put(name.apply(m), m));
    List<T> out = new java.util.ArrayList<>(now.size());
    for (T m : now) {
      T o = old.get(name.apply(m));
      out.add(o != null && o.equals(m) ? o : m);
    }
    return List.copyOf(out);
  }

  /** One string naming all four versions, e.g. for logs and dry runs. */
  public String version() {
    return "LDS=" + listenersVersion + ",RDS=" + routesVersion + ",CDS=" + clustersVersion + ",EDS=" + endpointsVersion;
  }

  private static String digest(List<? extends Message> resources) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (Message m : resources) {
        md.update(m.toByteArray());
        md.update((byte) 0);
      }
      return HexFormat.of().formatHex(md.digest(), 0, 6);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
