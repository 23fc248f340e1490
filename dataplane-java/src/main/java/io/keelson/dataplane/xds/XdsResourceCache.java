package io.keelson.dataplane.xds;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.listener.v3.Filter;
import io.envoyproxy.envoy.config.listener.v3.FilterChain;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.RouteConfiguration;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.Http2Options;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.envoy.XdsSnapshotTranslator;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The last accepted xDS resources of each type, and the gate between them and the data plane: an
 * update is checked field by field, merged into a candidate, and — once the candidate is complete
 * (every route configuration a listener names and every EDS cluster's endpoints are present) —
 * translated; a failed translation rejects the update and leaves the accepted set untouched.
 * Confined to the xDS client's owner thread.
 */
final class XdsResourceCache {
  /** The result of one update: an error_detail to NACK with, or an ACK with a snapshot when one is ready. */
  record Outcome(String error, ProxySnapshot snapshot) {
    boolean accepted() {
      return error == null;
    }
  }

  /** A resource and the version the server gave it (delta; SotW uses the response's version_info). */
  record Versioned(Message resource, String version) {}

  /** One resource as received: its name ("" when only the message carries it, SotW), version and body. */
  record Incoming(String name, String version, Any resource) {}

  private final Bootstrap.StaticResources statics;
  /** Every connection manager's HTTP/2 defaults: the bootstrap's runtime applied (process-wide, as in Envoy). */
  private final Http2Options http2Defaults;
  private final io.keelson.dataplane.config.DnsResolverConfig dnsResolver;
  private final Map<ResourceType, Map<String, Versioned>> accepted = new EnumMap<>(ResourceType.class);
  private final Map<ResourceType, String> versions = new EnumMap<>(ResourceType.class);
  private long snapshotSequence;
  /** What SDS secret references resolve to while translating (the proxy's identity), or null. */
  io.keelson.dataplane.security.CertificateSource localSecrets;
  /** The served SDS secrets (SECRET resources) listeners build on; updated in place on each accepted update. */
  private final io.keelson.dataplane.tls.ListenerSecrets listenerSecrets = new io.keelson.dataplane.tls.ListenerSecrets();
  /** The Secret each slot serves, by name: what a translation need not stage again. */
  private final Map<String, Message> servingSecrets = new LinkedHashMap<>();
  /** The served secret names the running snapshot's listeners use. */
  private Set<String> installedSecretNames = Set.of();
  /** The accepted set has not been translated yet (something it names had not arrived). */
  private boolean warming;
  /**
   * The clusters and listeners the running snapshot was built from. An accepted one still waiting for its served
   * secrets (Envoy's cluster and listener warming) is translated as this version, or left out when it is new.
   */
  private final Map<ResourceType, Map<String, Versioned>> installed = new EnumMap<>(ResourceType.class);
  private final SecretFetchTimers fetchTimers = new SecretFetchTimers();
  /** Told what a passed initial fetch deadline did: a snapshot put into service, or why none (no response carries it). */
  private java.util.function.Consumer<Outcome> onWarmed = outcome -> { };

  private final SnapshotInstaller installer;

  XdsResourceCache(Bootstrap.StaticResources statics) {
    this(statics, snapshot -> { });
  }

  /** @param installer puts each new snapshot into service before it is ACKed; its refusal is a NACK */
  XdsResourceCache(Bootstrap.StaticResources statics, SnapshotInstaller installer) {
    this(statics, Http2Options.DEFAULT, null, installer);
  }

  /**
   * @param http2Defaults every connection manager's HTTP/2 defaults, the bootstrap's runtime applied
   * @param dnsResolver   the bootstrap's DNS resolver config, every DNS cluster's without its own; null: the system's
   * @param installer     puts each new snapshot into service before it is ACKed; its refusal is a NACK
   */
  XdsResourceCache(Bootstrap.StaticResources statics, Http2Options http2Defaults,
      io.keelson.dataplane.config.DnsResolverConfig dnsResolver, SnapshotInstaller installer) {
    this.statics = statics;
    this.http2Defaults = java.util.Objects.requireNonNull(http2Defaults, "http2Defaults");
    this.dnsResolver = dnsResolver;
    this.installer = installer;
    for (ResourceType t : ResourceType.values()) {
      accepted.put(t, new LinkedHashMap<>());
    }
    installed.put(ResourceType.CLUSTER, new LinkedHashMap<>());
    installed.put(ResourceType.LISTENER, new LinkedHashMap<>());
  }

  /**
   * Arms served secrets' initial fetch deadlines on {@code scheduler} (the owner thread's); what a passed deadline
   * publishes (a snapshot, already installed, or the translation's refusal) is handed to {@code onWarmed}.
   */
  void warmOn(SecretFetchTimers.Scheduler scheduler, java.util.function.Consumer<Outcome> onWarmed) {
    fetchTimers.useScheduler(scheduler);
    this.onWarmed = onWarmed;
  }

  /**
   * Applies one response.
   *
   * @param updates   resources as received
   * @param removed   names removed (delta, or absent from a wildcard SotW response)
   * @param replaceAll SotW LDS/CDS: the response is the whole set
   * @param version   the response's version_info (SotW) or system_version_info (delta)
   */
  Outcome apply(ResourceType type, List<Incoming> updates, Set<String> removed, boolean replaceAll, String version) {
    List<String> problems = new ArrayList<>();
    Map<String, Versioned> parsed = new LinkedHashMap<>();
    for (int i = 0; i < updates.size(); i++) {
      Incoming in = updates.get(i);
      Any any = in.resource();
      String label = in.name().isEmpty() ? "#" + i : "'" + in.name() + "'";
      if (!any.getTypeUrl().equals(type.typeUrl())) {
        problems.add(XdsSnapshotTranslator.SOURCE + ": " + type.shortName() + " resource " + label + " has type "
            + any.getTypeUrl() + "; expected " + type.typeUrl());
        continue;
      }
      Message m;
      try {
        m = any.unpack(type.messageClass());
      } catch (InvalidProtocolBufferException ex) {
        problems.add(XdsSnapshotTranslator.SOURCE + ": " + type.shortName() + " resource " + label
            + " cannot be read: " + ex.getMessage());
        continue;
      }
      String name = nameOf(m);
      if (name.isEmpty() || (!in.name().isEmpty() && !name.equals(in.name()))) {
        problems.add(XdsSnapshotTranslator.SOURCE + ": " + type.shortName() + " resource " + label
            + " is named '" + name + "' inside; expected a non-empty name matching the resource's");
        continue;
      }
      if (parsed.containsKey(name)) {
        problems.add(XdsSnapshotTranslator.SOURCE + ": " + type.shortName() + " resource '" + name
            + "' appears twice in one response; expected unique names");
        continue;
      }
      problems.addAll(XdsSnapshotTranslator.checkFields(m, name));
      if (m instanceof io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret secret) {
        try { // checked on a throwaway registry: nothing is swapped in until the whole response is good
          io.keelson.dataplane.config.envoy.ServedSecrets.deliver(new io.keelson.dataplane.tls.ListenerSecrets(), secret);
        } catch (io.keelson.dataplane.tls.TlsConfigException e) {
          problems.add(XdsSnapshotTranslator.SOURCE + ": SDS secret '" + name + "' " + e.field() + ": " + e.getMessage());
          continue;
        }
      }
      parsed.put(name, new Versioned(m, in.version().isEmpty() ? version : in.version()));
    }
    if (!problems.isEmpty()) {
      return new Outcome(String.join("\n", problems), null);
    }
    Map<String, Versioned> candidate = replaceAll ? new LinkedHashMap<>() : new LinkedHashMap<>(accepted.get(type));
    removed.forEach(candidate::remove);
    candidate.putAll(parsed);

    if (sameResources(accepted.get(type), candidate) && versions.containsKey(type)) {
      commit(type, candidate, version); // a resend (e.g. another type changed): nothing to publish
      return new Outcome(null, null);
    }
    if (type == ResourceType.SECRET && !warming && java.util.Collections.disjoint(parsed.keySet(), awaited(accepted))) {
      // A rotation swaps each slot's material: listeners built on the slots keep running, new handshakes get it.
      deliverLive(parsed, sdsNames(accepted));
      commit(type, candidate, version);
      retainSlots();
      return new Outcome(null, null);
    }
    Map<ResourceType, Map<String, Versioned>> next = new EnumMap<>(accepted);
    next.put(type, candidate);
    Map<ResourceType, Map<String, Versioned>> effective = warmed(next);
    if (!complete(effective, type)) {
      commit(type, candidate, version);
      warming = true;
      if (type == ResourceType.SECRET) {
        deliverLive(parsed, installedSecretNames); // an accepted rotation reaches the running listeners, as in Envoy
      }
      retainSlots();
      return new Outcome(null, null); // warming: ACK and wait for the rest
    }
    return publish(effective, leftOut(next, effective), type, version, () -> commit(type, candidate, version));
  }

  /**
   * Translates and installs {@code next} (the accepted set with warming clusters and listeners at their running
   * version; {@code warmingNew} the new clusters left out); {@code commit} runs once it is in service. A refusal leaves everything as it was.
   */
  private Outcome publish(Map<ResourceType, Map<String, Versioned>> next, Set<String> warmingNew, ResourceType type,
      String version, Runnable commit) {
    ProxySnapshot snapshot;
    try {
      snapshot = translate(next, type, version, warmingNew);
    } catch (ConfigException e) {
      listenerSecrets.discardStaged(); // the slots keep serving what the running listeners were built on
      retainSlots();
      return new Outcome(e.getMessage(), null);
    }
    // Staged secrets serve only once the listeners that need them translated; a refused install undoes that.
    io.keelson.dataplane.tls.ListenerSecrets.Rollback rollback = listenerSecrets.promoteStaged();
    Map<String, Message> serving = new LinkedHashMap<>(servingSecrets);
    try {
      installer.install(snapshot);
    } catch (ConfigException e) {
      rollback.restore();
      retainSlots(); // slots the refused snapshot's listeners created hold nothing now: drop them
      return new Outcome(e.getMessage(), null);
    }
    commit.run();
    installed.put(ResourceType.CLUSTER, next.get(ResourceType.CLUSTER));
    installed.put(ResourceType.LISTENER, next.get(ResourceType.LISTENER));
    for (String name : sdsNames(next)) {
      Versioned v = next.get(ResourceType.SECRET).get(name);
      if (v != null) { // a cluster's secret may not have arrived (its handshakes fail closed until it does)
        serving.put(name, v.resource());
      }
    }
    servingSecrets.clear();
    servingSecrets.putAll(serving);
    installedSecretNames = sdsNames(next);
    warming = false;
    retainSlots();
    return new Outcome(null, snapshot);
  }

  /**
   * The state to translate: each cluster and listener still waiting for a served secret it names (not arrived, its
   * initial fetch deadline not passed) at the version the running snapshot has, or left
   * out when it has none: Envoy's warming, where the previous version serves until the new one is ready.
   */
  private Map<ResourceType, Map<String, Versioned>> warmed(Map<ResourceType, Map<String, Versioned>> state) {
    Map<ResourceType, Map<String, Versioned>> out = new EnumMap<>(state);
    for (ResourceType t : List.of(ResourceType.CLUSTER, ResourceType.LISTENER)) {
      Map<String, Versioned> ready = new LinkedHashMap<>();
      state.get(t).forEach((name, v) -> {
        Versioned use = awaited(v.resource(), state).isEmpty() ? v : installed.get(t).get(name);
        if (use != null) {
          ready.put(name, use);
        }
      });
      out.put(t, ready);
    }
    return out;
  }

  /** The clusters of {@code state} that {@code effective} leaves out: new ones still warming. */
  private static Set<String> leftOut(Map<ResourceType, Map<String, Versioned>> state,
      Map<ResourceType, Map<String, Versioned>> effective) {
    Set<String> out = new TreeSet<>(state.get(ResourceType.CLUSTER).keySet());
    out.removeAll(effective.get(ResourceType.CLUSTER).keySet());
    return out;
  }

  /** The served secrets {@code resource} (a cluster or listener) still waits for in {@code state}. */
  private Set<String> awaited(Message resource, Map<ResourceType, Map<String, Versioned>> state) {
    Set<String> out = new TreeSet<>();
    Map<String, Versioned> arrived = state.get(ResourceType.SECRET);
    if (resource instanceof Cluster c) {
      clusterSdsConfigs(c).keySet().forEach(name -> {
        if (!arrived.containsKey(name) && !fetchTimers.expired(name)) {
          out.add(name);
        }
      });
    } else if (resource instanceof Listener l) {
      listenerSdsNames(l).forEach(name -> {
        if (!arrived.containsKey(name) && !fetchTimers.expired(name)) {
          out.add(name);
        }
      });
    }
    return out;
  }

  /** Every served secret some accepted cluster or listener waits for. */
  private Set<String> awaited(Map<ResourceType, Map<String, Versioned>> state) {
    Set<String> out = new TreeSet<>();
    for (ResourceType t : List.of(ResourceType.CLUSTER, ResourceType.LISTENER)) {
      state.get(t).values().forEach(v -> out.addAll(awaited(v.resource(), state)));
    }
    return out;
  }

  /** The accepted clusters and listeners that are not in service as accepted (waiting for their secrets), by type. */
  int warmingCount(ResourceType type) {
    return warming(type).size();
  }

  /**
   * The accepted clusters or listeners not in service as accepted, waiting for their secrets (Envoy's
   * {@code dynamic_warming_clusters} and listeners' {@code warming_state}): new ones, and updates whose previous version
   * keeps serving meanwhile.
   */
  List<XdsWarming.Resource> warming(ResourceType type) {
    Map<String, Versioned> running = installed.get(type);
    List<XdsWarming.Resource> out = new ArrayList<>();
    for (Map.Entry<String, Versioned> e : accepted.get(type).entrySet()) {
      Versioned r = running.get(e.getKey());
      if ((r == null || !r.resource().equals(e.getValue().resource()))
          && !awaited(e.getValue().resource(), accepted).isEmpty()) {
        out.add(new XdsWarming.Resource(e.getKey(), e.getValue().version(), e.getValue().resource()));
      }
    }
    return out;
  }

  /** Both kinds of {@link #warming(ResourceType)}. */
  XdsWarming warming() {
    return new XdsWarming(warming(ResourceType.CLUSTER), warming(ResourceType.LISTENER));
  }

  /**
   * Arms the initial fetch deadline of each secret an accepted cluster or listener waits for, and forgets those of
   * secrets no longer awaited. A passed deadline puts the clusters and listeners waiting on it into service (a new
   * snapshot, installed here): their handshakes fail until the secret arrives.
   */
  private void armFetchTimers() {
    Set<String> awaited = new java.util.HashSet<>();
    for (ResourceType t : List.of(ResourceType.CLUSTER, ResourceType.LISTENER)) {
      for (Versioned v : accepted.get(t).values()) {
        Set<String> waits = awaited(v.resource(), accepted);
        sdsConfigs(v.resource()).forEach((name, config) -> {
          if (waits.contains(name)) {
            awaited.add(name);
            fetchTimers.await(name, SecretFetchTimers.timeoutOf(config.getSdsConfig()), () -> {
              listenerSecrets.giveUp(name); // as Envoy: warming ends; a listener on it serves with failing handshakes
              onFetchTimeout();
            });
          }
        });
      }
    }
    fetchTimers.retain(awaited, sdsNames(accepted));
  }

  /** A deadline passed: publishes the accepted set with the clusters that stopped waiting, if complete. */
  private void onFetchTimeout() {
    if (warming || !versions.containsKey(ResourceType.CLUSTER) || !versions.containsKey(ResourceType.LISTENER)) {
      return; // the next complete update takes them
    }
    Map<ResourceType, Map<String, Versioned>> effective = warmed(accepted);
    if (!complete(effective, ResourceType.CLUSTER)) {
      return;
    }
    Outcome o = publish(effective, leftOut(accepted, effective), ResourceType.CLUSTER, version(ResourceType.CLUSTER),
        () -> { });
    onWarmed.accept(o);
  }

  /** Swaps accepted secrets into the slots of {@code names} (listeners already built on them get them now). */
  private void deliverLive(Map<String, Versioned> parsed, Set<String> names) {
    parsed.forEach((name, v) -> {
      if (names.contains(name)) {
        io.keelson.dataplane.config.envoy.ServedSecrets.deliver(listenerSecrets, secret(v));
        servingSecrets.put(name, v.resource());
      }
    });
  }

  private static io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret secret(Versioned v) {
    return (io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret) v.resource();
  }

  /**
   * Drops the slots neither the accepted listeners nor the running snapshot's listeners name (a deleted or
   * replaced credential): their keys are no longer referenced here.
   */
  private void retainSlots() {
    armFetchTimers();
    Set<String> keep = new java.util.HashSet<>(sdsNames(accepted));
    keep.addAll(installedSecretNames);
    listenerSecrets.retain(keep);
    servingSecrets.keySet().retainAll(keep);
  }

  private static boolean sameResources(Map<String, Versioned> a, Map<String, Versioned> b) {
    if (!a.keySet().equals(b.keySet())) {
      return false;
    }
    for (Map.Entry<String, Versioned> e : a.entrySet()) {
      if (!e.getValue().resource().equals(b.get(e.getKey()).resource())) {
        return false;
      }
    }
    return true;
  }

  private void commit(ResourceType type, Map<String, Versioned> resources, String version) {
    accepted.put(type, resources);
    versions.put(type, version);
  }

  /** The version_info last accepted for a type ("" before the first). */
  String version(ResourceType type) {
    return versions.getOrDefault(type, "");
  }

  /** Per-resource versions of the accepted set, for a delta stream's initial_resource_versions. */
  Map<String, String> resourceVersions(ResourceType type) {
    Map<String, String> out = new LinkedHashMap<>();
    accepted.get(type).forEach((name, v) -> out.put(name, v.version()));
    return out;
  }

  /** True once CDS was accepted and every EDS cluster it holds has its endpoints (Envoy's cluster warming). */
  boolean clustersWarm() {
    return versions.containsKey(ResourceType.CLUSTER)
        && accepted.get(ResourceType.ENDPOINT).keySet().containsAll(edsNames(accepted));
  }

  /** The endpoint assignments to subscribe to: the service names of accepted EDS clusters. */
  Set<String> edsSubscription() {
    return edsNames(accepted);
  }

  /** The served secrets' slots, for tests. */
  io.keelson.dataplane.tls.ListenerSecrets listenerSecrets() {
    return listenerSecrets;
  }

  /** The served SDS secrets to subscribe to: those the accepted listeners' TLS contexts name. */
  Set<String> sdsSubscription() {
    return sdsNames(accepted);
  }

  /** The route configurations to subscribe to: those the accepted listeners name in rds. */
  Set<String> rdsSubscription() {
    return rdsNames(accepted);
  }

  /** Both wildcard types delivered at least once, and everything they name is present. */
  private boolean complete(Map<ResourceType, Map<String, Versioned>> state, ResourceType updating) {
    return (updating == ResourceType.CLUSTER || versions.containsKey(ResourceType.CLUSTER))
        && (updating == ResourceType.LISTENER || versions.containsKey(ResourceType.LISTENER))
        && state.get(ResourceType.ENDPOINT).keySet().containsAll(edsNames(state))
        && state.get(ResourceType.ROUTE).keySet().containsAll(rdsNames(state));
  }

  private ProxySnapshot translate(Map<ResourceType, Map<String, Versioned>> state, ResourceType type, String version,
      Set<String> warmingNew) throws ConfigException {
    // Only what is referenced: EDS/RDS keep resources no longer named until the next subscription update.
    Map<String, RouteConfiguration> routes = new LinkedHashMap<>();
    for (String name : rdsNames(state)) {
      routes.put(name, (RouteConfiguration) state.get(ResourceType.ROUTE).get(name).resource());
    }
    Map<String, ClusterLoadAssignment> endpoints = new LinkedHashMap<>();
    for (String name : edsNames(state)) {
      endpoints.put(name, (ClusterLoadAssignment) state.get(ResourceType.ENDPOINT).get(name).resource());
    }
    List<Listener> listeners = new ArrayList<>();
    state.get(ResourceType.LISTENER).values().forEach(v -> listeners.add((Listener) v.resource()));
    List<Cluster> clusters = new ArrayList<>();
    state.get(ResourceType.CLUSTER).values().forEach(v -> clusters.add((Cluster) v.resource()));
    for (String name : sdsNames(state)) { // checked on arrival; serves once the translation succeeded
      Versioned v = state.get(ResourceType.SECRET).get(name);
      if (v != null && !v.resource().equals(servingSecrets.get(name))) {
        io.keelson.dataplane.config.envoy.ServedSecrets.deliver(listenerSecrets, secret(v), true);
      }
    }
    snapshotSequence++;
    return io.keelson.dataplane.tls.ListenerSecrets.with(listenerSecrets, () -> io.keelson.dataplane.tls.LocalSecrets.with(
        localSecrets, () -> XdsSnapshotTranslator.translate(label(type, version), statics,
            new XdsSnapshotTranslator.Defaults(http2Defaults, dnsResolver), listeners, routes, clusters, endpoints,
            warmingNew)));
  }

  /** The snapshot's version: each type's version_info, so the admin page shows what the proxy runs. */
  private String label(ResourceType pendingType, String pendingVersion) {
    StringBuilder b = new StringBuilder("xds-").append(snapshotSequence);
    for (ResourceType t : ResourceType.values()) {
      String v = t == pendingType ? pendingVersion : versions.getOrDefault(t, "");
      if (t == ResourceType.SECRET && v.isEmpty()) {
        continue; // a proxy whose listeners name no served secret
      }
      b.append(' ').append(t.shortName()).append('=').append(v);
    }
    return b.toString();
  }

  private static Set<String> edsNames(Map<ResourceType, Map<String, Versioned>> state) {
    Set<String> names = new TreeSet<>();
    for (Versioned v : state.get(ResourceType.CLUSTER).values()) {
      Cluster c = (Cluster) v.resource();
      if (c.hasType() && c.getType() == Cluster.DiscoveryType.EDS) {
        String service = c.getEdsClusterConfig().getServiceName();
        names.add(service.isEmpty() ? c.getName() : service);
      }
    }
    return names;
  }

  private static Set<String> rdsNames(Map<ResourceType, Map<String, Versioned>> state) {
    Set<String> names = new LinkedHashSet<>();
    for (Versioned v : state.get(ResourceType.LISTENER).values()) {
      for (FilterChain chain : ((Listener) v.resource()).getFilterChainsList()) {
        for (Filter f : chain.getFiltersList()) {
          if (f.hasTypedConfig() && f.getTypedConfig().is(HttpConnectionManager.class)) {
            try {
              HttpConnectionManager hcm = f.getTypedConfig().unpack(HttpConnectionManager.class);
              if (hcm.hasRds()) {
                names.add(hcm.getRds().getRouteConfigName());
              }
            } catch (InvalidProtocolBufferException e) {
              // reported by the translator with its path
            }
          }
        }
      }
    }
    return names;
  }

  /** The served SDS secret names of the listeners and the clusters: those to subscribe to, deliver and keep. */
  private static Set<String> sdsNames(Map<ResourceType, Map<String, Versioned>> state) {
    Set<String> names = listenerSdsNames(state);
    for (Versioned v : state.get(ResourceType.CLUSTER).values()) {
      names.addAll(clusterSdsConfigs((Cluster) v.resource()).keySet());
    }
    return names;
  }

  /** The served secrets a cluster's transport sockets (its own and its matches') name, by name. */
  private static Map<String, io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig> clusterSdsConfigs(
      Cluster c) {
    Map<String, io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig> out = new LinkedHashMap<>();
    if (c.hasTransportSocket()) {
      out.putAll(upstreamSdsConfigs(c.getTransportSocket()));
    }
    for (Cluster.TransportSocketMatch m : c.getTransportSocketMatchesList()) {
      out.putAll(upstreamSdsConfigs(m.getTransportSocket()));
    }
    return out;
  }

  /**
   * The served secrets of a cluster's UpstreamTlsContext (also inside upstream_proxy_protocol). The cluster warms on
   * them (the rest of the configuration does not wait) until they arrive or their initial fetch deadline passes.
   */
  private static Map<String, io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig> upstreamSdsConfigs(
      io.envoyproxy.envoy.config.core.v3.TransportSocket socket) {
    try {
      Any typed = socket.getTypedConfig();
      if (typed.is(io.envoyproxy.envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport.class)) {
        return upstreamSdsConfigs(typed.unpack(
            io.envoyproxy.envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport.class)
            .getTransportSocket());
      }
      if (typed.is(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class)) {
        return io.keelson.dataplane.config.envoy.ServedSecrets.configs(typed.unpack(
            io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext.class).getCommonTlsContext());
      }
    } catch (InvalidProtocolBufferException e) {
      // reported by the translator with its path
    }
    return Map.of();
  }

  /** The served SDS secret names in the listeners' downstream TLS contexts (Envoy warms a listener until they arrive). */
  private static Set<String> listenerSdsNames(Map<ResourceType, Map<String, Versioned>> state) {
    Set<String> names = new TreeSet<>();
    for (Versioned v : state.get(ResourceType.LISTENER).values()) {
      names.addAll(listenerSdsNames((Listener) v.resource()));
    }
    return names;
  }

  /** The served SDS secret names in one listener's downstream TLS contexts. */
  private static Set<String> listenerSdsNames(Listener listener) {
    return new TreeSet<>(listenerSdsConfigs(listener).keySet());
  }

  /** The served secrets a cluster or listener names, by name. */
  private static Map<String, io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig> sdsConfigs(
      Message resource) {
    return resource instanceof Cluster c ? clusterSdsConfigs(c) : listenerSdsConfigs((Listener) resource);
  }

  /** The served SDS secrets of one listener's downstream TLS contexts, by name. */
  private static Map<String, io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig> listenerSdsConfigs(
      Listener listener) {
    Map<String, io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig> out = new LinkedHashMap<>();
    for (FilterChain chain : listener.getFilterChainsList()) {
      if (chain.hasTransportSocket() && chain.getTransportSocket().getTypedConfig().is(
          io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.class)) {
        try {
          out.putAll(io.keelson.dataplane.config.envoy.ServedSecrets.configs(chain.getTransportSocket().getTypedConfig()
              .unpack(io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext.class)
              .getCommonTlsContext()));
        } catch (InvalidProtocolBufferException e) {
          // reported by the translator with its path
        }
      }
    }
    return out;
  }

  static String nameOf(Message m) {
    return switch (m) {
      case Listener l -> l.getName();
      case Cluster c -> c.getName();
      case RouteConfiguration r -> r.getName();
      case ClusterLoadAssignment a -> a.getClusterName();
      case io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret s -> s.getName();
      default -> throw new IllegalArgumentException(m.getDescriptorForType().getFullName());
    };
  }
}
