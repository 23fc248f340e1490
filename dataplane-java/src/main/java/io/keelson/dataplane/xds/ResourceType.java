package io.keelson.dataplane.xds;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;

/**
 * The xDS resource types Keelson subscribes to, in Envoy's warming order: clusters, then their
 * endpoints, then listeners, then the route configurations and the SDS secrets listeners name. Immutable.
 */
public enum ResourceType {
  CLUSTER("CDS", Cluster.class, true),
  ENDPOINT("EDS", ClusterLoadAssignment.class, false),
  LISTENER("LDS", Listener.class, true),
  ROUTE("RDS", RouteConfiguration.class, false),
  /** Secrets the listeners name beyond the proxy's own identity (a gateway's credentials), by name. */
  SECRET("SDS", io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret.class, false);

  private final String shortName;
  private final Class<? extends Message> messageClass;
  private final String typeUrl;
  private final boolean wildcard;

  ResourceType(String shortName, Class<? extends Message> messageClass, boolean wildcard) {
    this.shortName = shortName;
    this.messageClass = messageClass;
    this.wildcard = wildcard;
    try {
      Message prototype = (Message) messageClass.getMethod("getDefaultInstance").invoke(null);
      this.typeUrl = "type.googleapis.com/" + prototype.getDescriptorForType().getFullName();
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** CDS, EDS, LDS or RDS. */
  public String shortName() {
    return shortName;
  }

  public String typeUrl() {
    return typeUrl;
  }

  Class<? extends Message> messageClass() {
    return messageClass;
  }

  /**
   * LDS and CDS subscribe to every resource and a state-of-the-world response is the whole set;
   * EDS and RDS name what they want, and resources absent from a response are kept.
   */
  boolean wildcard() {
    return wildcard;
  }

  static ResourceType ofTypeUrl(String typeUrl) {
    for (ResourceType t : values()) {
      if (t.typeUrl.equals(typeUrl)) {
        return t;
      }
    }
    return null;
  }
}
