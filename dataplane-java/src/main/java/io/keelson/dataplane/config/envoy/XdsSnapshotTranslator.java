package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.keelson.dataplane.config.ClusterConfig;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.Http2Options;
import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProxySnapshot;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Translates resources delivered by xDS (Listener, RouteConfiguration, Cluster, ClusterLoadAssignment),
 * together with a bootstrap's static resources, into a {@link ProxySnapshot} with the same checks as
 * a static bootstrap. Problems name the resource as {@code Type[name]} followed by the field path,
 * e.g. {@code xds: RouteConfiguration[local].virtual_hosts[0].routes[1].route.cluster: ...}. Stateless.
 */
public final class XdsSnapshotTranslator {
  static final String REDACTED = "[redacted]";
  private static final String PRIVATE_KEY_FIELD = "\"private_key\"";
  // A DataSource printed without whitespace: {"inline_string":"..."} or {"inline_bytes":"..."} (JSON-escaped text).
  private static final java.util.regex.Pattern INLINE_PRIVATE_KEY = java.util.regex.Pattern.compile(
      "\"private_key\":\\{\"inline_(?:string|bytes)\":\"(?:[^\"\\\\]|\\\\.)*\"\\}");

  /** Prefix of every problem line. */
  public static final String SOURCE = "xds";

  private XdsSnapshotTranslator() {}

  /** How problems name a resource: its proto type's simple name and its name, e.g. {@code Cluster[backend]}. */
  public static String resourcePath(Message resource, String name) {
    return resource.getDescriptorForType().getName() + "[" + name + "]";
  }

  /**
   * The typed_config types Keelson's data plane reads, for reading Envoy JSON ({@code @type}) as the data plane
   * would: a type missing here is one every Keelson proxy refuses.
   */
  public static JsonFormat.TypeRegistry typeRegistry() {
    return SupportedTypes.REGISTRY;
  }

  /** Checks one resource's fields against what Keelson runs (rds and EDS allowed); one line per problem. */
  public static List<String> checkFields(Message resource, String name) {
    Problems problems = new Problems(SOURCE);
    SupportedFields.checkDynamic(resource, resourcePath(resource, name), problems);
    try {
      problems.throwIfErrors();
      return List.of();
    } catch (ConfigException e) {
      return e.problems();
    }
  }

  /**
   * Translates a complete set of resources: every rds name a listener uses is in {@code routes}, every
   * EDS cluster's service name is in {@code endpoints}.
   *
   * @throws ConfigException naming each bad resource and field
   */
  public static ProxySnapshot translate(
      String version,
      Bootstrap.StaticResources statics,
      Collection<Listener> listeners,
      Map<String, RouteConfiguration> routes,
      Collection<Cluster> clusters,
      Map<String, ClusterLoadAssignment> endpoints) throws ConfigException {
    return translate(version, statics, Http2Options.DEFAULT, listeners, routes, clusters, endpoints, java.util.Set.of());
  }

  /**
   * As {@link #translate(String, Bootstrap.StaticResources, Collection, Map, Collection, Map)}, every connection
   * manager (static or delivered by LDS) starting from {@code http2Defaults}: the bootstrap's runtime applied
   * ({@link AdsSource#http2Defaults()}), as Envoy's runtime is process-wide; {@code warming} the names of new clusters
   * still warming (waiting for their secrets): routes may name them, and their requests get 503 {@code NC} (cluster
   * not found) until they are in service, as in Envoy.
   *
   * @throws ConfigException naming each bad resource and field
   */
  public static ProxySnapshot translate(
      String version,
      Bootstrap.StaticResources statics,
      Http2Options http2Defaults,
      Collection<Listener> listeners,
      Map<String, RouteConfiguration> routes,
      Collection<Cluster> clusters,
      Map<String, ClusterLoadAssignment> endpoints,
      java.util.Set<String> warming) throws ConfigException {
    return translate(version, statics, new Defaults(http2Defaults, null), listeners, routes, clusters, endpoints, warming);
  }

  /**
   * What the bootstrap sets for every resource, as Envoy's process-wide settings: xDS resources get them as the static
   * ones do. Immutable.
   *
   * @param http2             every connection manager's HTTP/2 defaults, the bootstrap's runtime applied
   *                          ({@link AdsSource#http2Defaults()})
   * @param dnsResolver       the bootstrap's DNS resolver config, every DNS cluster's without its own
   *                          ({@link AdsSource#dnsResolver()}); null: the system's
   */
  public record Defaults(Http2Options http2, io.keelson.dataplane.config.DnsResolverConfig dnsResolver) {
    public Defaults {
      java.util.Objects.requireNonNull(http2, "http2");
    }
  }

  /**
   * As {@link #translate(String, Bootstrap.StaticResources, Http2Options, Collection, Map, Collection, Map,
   * java.util.Set)}, with all of the bootstrap's {@code defaults}.
   *
   * @throws ConfigException naming each bad resource and field
   */
  public static ProxySnapshot translate(
      String version,
      Bootstrap.StaticResources statics,
      Defaults defaults,
      Collection<Listener> listeners,
      Map<String, RouteConfiguration> routes,
      Collection<Cluster> clusters,
      Map<String, ClusterLoadAssignment> endpoints,
      java.util.Set<String> warming) throws ConfigException {
    Problems problems = new Problems(SOURCE);
    listeners.forEach(l -> SupportedFields.checkDynamic(l, resourcePath(l, l.getName()), problems));
    routes.forEach((name, r) -> SupportedFields.checkDynamic(r, resourcePath(r, name), problems));
    clusters.forEach(c -> SupportedFields.checkDynamic(c, resourcePath(c, c.getName()), problems));
    endpoints.forEach((name, e) -> SupportedFields.checkDynamic(e, resourcePath(e, name), problems));
    problems.throwIfErrors();

    // An xDS resource replaces the static one of the same name: a sidecar binds a placeholder
    // listener at start (listeners are bound only then) that its control plane later programs.
    java.util.Set<String> xdsListenerNames = new java.util.HashSet<>();
    listeners.forEach(l -> xdsListenerNames.add(l.getName()));
    java.util.Set<String> xdsClusterNames = new java.util.HashSet<>();
    clusters.forEach(c -> xdsClusterNames.add(c.getName()));
    List<Listener> allListeners = new ArrayList<>();
    List<String> listenerPaths = new ArrayList<>();
    for (int i = 0; i < statics.getListenersCount(); i++) {
      if (!xdsListenerNames.contains(statics.getListeners(i).getName())) {
        allListeners.add(statics.getListeners(i));
        listenerPaths.add("static_resources.listeners[" + i + "]");
      }
    }
    for (Listener l : listeners) {
      allListeners.add(l);
      listenerPaths.add(resourcePath(l, l.getName()));
    }
    List<Cluster> allClusters = new ArrayList<>();
    List<String> clusterPathList = new ArrayList<>();
    for (int i = 0; i < statics.getClustersCount(); i++) {
      if (!xdsClusterNames.contains(statics.getClusters(i).getName())) {
        allClusters.add(statics.getClusters(i));
        clusterPathList.add("static_resources.clusters[" + i + "]");
      }
    }
    for (Cluster c : clusters) {
      allClusters.add(c);
      clusterPathList.add(resourcePath(c, c.getName()));
    }
    SnapshotTranslator translator = new SnapshotTranslator(problems, routes);
    translator.http2Defaults(defaults.http2());
    List<ListenerConfig> translatedListeners = translator.listeners(allListeners, listenerPaths);
    Map<String, String> clusterPaths = new LinkedHashMap<>();
    Map<String, ClusterConfig> translatedClusters =
        new ClusterTranslator(problems).defaultDnsResolver(defaults.dnsResolver())
            .clusters(allClusters, clusterPathList, endpoints, clusterPaths);
    warming.forEach(name -> clusterPaths.putIfAbsent(name, "Cluster[" + name + "] (warming)"));
    translator.checkReferences(translatedClusters, clusterPaths);
    io.keelson.dataplane.dns.NameTable names = NameTableTranslator.fromListeners(allListeners, listenerPaths, problems);
    problems.throwIfErrors();
    return new ProxySnapshot(version, translatedListeners, translatedClusters,
        configDump(version, allListeners, routes.values(), allClusters, endpoints.values()), problems.warnings(), names,
        translator.udpListeners(), translator.quicListeners());
  }

  /**
   * The admin {@code /config_dump} body. Inline private keys (an ingress gateway's certificates arrive inline in its
   * listeners) are shown as {@value #REDACTED}, as Envoy redacts them; a key's file name is shown.
   */
  static String configDump(String version, List<Listener> listeners, Collection<RouteConfiguration> routes,
      List<Cluster> clusters, Collection<ClusterLoadAssignment> endpoints) {
    StringBuilder json = new StringBuilder(256).append("{\"version\":\"").append(version.replace("\"", "\\\"")).append('"');
    section(json, "listeners", listeners);
    section(json, "route_configs", routes);
    section(json, "clusters", clusters);
    section(json, "endpoints", endpoints);
    return json.append('}').toString();
  }

  private static void section(StringBuilder json, String name, Collection<? extends Message> messages) {
    json.append(",\"").append(name).append("\":[");
    boolean first = true;
    for (Message m : messages) {
      if (!first) {
        json.append(',');
      }
      first = false;
      json.append(dumpJson(m));
    }
    json.append(']');
  }

  private static final JsonFormat.Printer DUMP_PRINTER = JsonFormat.printer().usingTypeRegistry(SupportedTypes.REGISTRY)
      .preservingProtoFieldNames().omittingInsignificantWhitespace();

  /** One resource as {@code /config_dump} shows it: Envoy's JSON field names, inline private keys redacted. */
  public static String dumpJson(Message m) {
    try {
      String printed = DUMP_PRINTER.print(m);
      return printed.contains(PRIVATE_KEY_FIELD) ? INLINE_PRIVATE_KEY.matcher(printed)
          .replaceAll(PRIVATE_KEY_FIELD + ":{\"inline_string\":\"" + REDACTED + "\"}") : printed;
    } catch (InvalidProtocolBufferException e) {
      // Every typed_config was checked against the same registry before translation.
      return "{\"unprintable\":\"" + m.getDescriptorForType().getName() + "\"}";
    }
  }
}
