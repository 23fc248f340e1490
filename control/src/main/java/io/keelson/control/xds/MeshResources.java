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
   * As {@link #of(List, List, List, List)}, the endpoints' version digesting each assignment's own
   * digest ({@code endpointDigest}: its SHA-256, known when the assignment was built), so that an
   * unchanged 10,000-endpoint list is not serialized again to be digested.
   */
  static MeshResources of(List<Listener> listeners, List<RouteConfiguration> routes, List<Cluster> clusters,
      List<ClusterLoadAssignment> endpoints, java.util.function.Function<ClusterLoadAssignment, byte[]> endpointDigest) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (ClusterLoadAssignment a : endpoints) {
        byte[] d = endpointDigest.apply(a);
        md.update(d != null ? d : AssignmentCache.digest(a));
      }
      return new MeshResources(List.copyOf(listeners), List.copyOf(routes), List.copyOf(clusters),
          List.copyOf(endpoints), digest(listeners), digest(routes), digest(clusters),
          HexFormat.of().formatHex(md.digest(), 0, 6));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** These resources with other listeners: only the listeners' version is computed again. */
  MeshResources withListeners(List<Listener> listeners) {
    return new MeshResources(List.copyOf(listeners), routes, clusters, endpoints, digest(listeners), routesVersion,
        clustersVersion, endpointsVersion);
  }

  /** These resources with other listeners and routes: the clusters' and endpoints' versions are kept. */
  MeshResources withListenersAndRoutes(List<Listener> listeners, List<RouteConfiguration> routes) {
    return new MeshResources(List.copyOf(listeners), List.copyOf(routes), clusters, endpoints, digest(listeners),
        digest(routes), clustersVersion, endpointsVersion);
  }

  /** These resources with other listeners and clusters: the routes' and endpoints' versions are kept. */
  MeshResources withListenersAndClusters(List<Listener> listeners, List<Cluster> clusters) {
    return new MeshResources(List.copyOf(listeners), routes, List.copyOf(clusters), endpoints, digest(listeners),
        routesVersion, digest(clusters), endpointsVersion);
  }

  /** These resources with other endpoints, whose version the caller computed: the other versions are kept. */
  MeshResources withEndpoints(List<ClusterLoadAssignment> endpoints, String endpointsVersion) {
    return new MeshResources(listeners, routes, clusters, List.copyOf(endpoints), listenersVersion, routesVersion,
        clustersVersion, endpointsVersion);
  }

  /**
   * These resources with {@code clusters} and {@code endpoints} (these ones' plus more, named by {@code added}): the
   * endpoints' version is derived from this one's and {@code added}, not digested again.
   */
  MeshResources withMoreClusters(List<Cluster> clusters, List<ClusterLoadAssignment> endpoints, String added) {
    return new MeshResources(listeners, routes, List.copyOf(clusters), List.copyOf(endpoints), listenersVersion,
        routesVersion, digest(clusters), endpointsVersion + "+" + Integer.toHexString(added.hashCode()));
  }

  /** One string naming all four versions, e.g. for logs and dry runs. */
  public String version() {
    return "LDS=" + listenersVersion + ",RDS=" + routesVersion + ",CDS=" + clustersVersion + ",EDS=" + endpointsVersion;
  }

  static String digest(List<? extends Message> resources) {
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
