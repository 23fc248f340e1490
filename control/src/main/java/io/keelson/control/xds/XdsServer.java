package io.keelson.control.xds;

import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import io.keelson.control.store.PolicyStore;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keelson's xDS server: java-control-plane's {@link V3DiscoveryServer} (ADS, state of the world and
 * delta) over a {@link SimpleCache} with one snapshot per node id. The store's state and the
 * workloads sidecars register through their node metadata (here, and with a shared store at other
 * replicas: {@link #setPeerWorkloads}) are translated once per change; a proxy
 * whose resources did not change is not given a new snapshot, and within a snapshot only the types
 * whose version (a content digest) changed are pushed. ACK/NACK per proxy and type come from the
 * server's callbacks. Both xDS ports (plaintext and the authenticated one) share the cache, so a node id is held by
 * the principal of its first open stream ("plaintext", or a join token's namespace) and a stream of another principal
 * with that id is refused (PERMISSION_DENIED) until the holder's streams closed and its entry was cleared: a
 * plaintext client cannot watch an authenticated gateway's entry and read its secrets. A gateway's secrets are
 * decided from its stream's authentication (its token's namespace, {@link GatewaySecrets}), never from node metadata.
 * Thread-safe: pushes are serialized by one lock that callbacks answering
 * responses never take (java-control-plane calls them under its cache lock).
 */
public final class XdsServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(XdsServer.class);
  // Copies of a translation per client namespace or path normalization held at most (each a full copy).
  private static final int DERIVED_CACHE_ENTRIES = 256;

  private final PolicyStore store;
  // What route domain clashes its translations warned about, so that each is logged once while it lasts.
  private final DistinctDomains domainClashes = new DistinctDomains();
  private final MeshTranslator sidecars;
  private final MeshTranslator proxyless;
  private final SimpleCache<String> cache = new WatchKeepingCache<>(Node::getId);
  private final Map<Long, ProxyState> streams = new ConcurrentHashMap<>();
  private final Map<String, Policy.Workload> registered = new ConcurrentHashMap<>();
  // Workloads other control-plane replicas registered (shared store), by node id; replaced whole.
  private volatile Map<String, Policy.Workload> peers = Map.of();
  private volatile Registrations registrations = Registrations.NONE;
  // Sidecars with a workload identity, by node id: they get per-node resources (mTLS clusters, inbound listener).
  private final Map<String, MeshTranslator.Self> identified = new ConcurrentHashMap<>();
  // Sidecars whose traffic iptables captures, by node id (with or without an identity): virtualOutbound/virtualInbound.
  private final Map<String, MeshTranslator.Self> captured = new ConcurrentHashMap<>();
  // Plain sidecars without an identity, by node id: an HTTP2/GRPC app gets its app cluster over HTTP/2 (withApp).
  private final Map<String, MeshTranslator.Self> plainApps = new ConcurrentHashMap<>();
  // Ingress gateways, by node id: Istio Gateways' listeners and routes over the mesh's clusters (GatewayTranslator).
  private final Map<String, GatewayNode> gatewayNodes = new ConcurrentHashMap<>();

  /**
   * A connected gateway proxy: its registration, its SPIFFE ID (null: it calls the mesh in plaintext), and the
   * namespace of its join token when it came over the authenticated port (then its server certificates are SDS
   * secrets of that namespace only, {@link GatewaySecrets}); null on the plaintext port, where they stay inline in its
   * listeners, as no secret is served there. Decided from the stream's authentication, never from node metadata.
   */
  private record GatewayNode(NodeRegistration.Gateway registration, String spiffeId, String namespace) {}
  /**
   * Who holds each node id while a stream of it is open: "plaintext" or "token:<namespace>". The snapshot cache is
   * keyed by node id, so a stream of another principal with the same id would watch the same entry (and read a
   * gateway's secrets): it is refused until every stream of the holder closed. Each hold counts its open streams
   * (a reconnect opens the new stream before the old one's close is seen); guarded by {@link #holdLock}, which
   * also covers the registration on open and the teardown at the last close (taken before {@link #pushLock}).
   */
  private final Map<String, NodeHold> nodePrincipals = new HashMap<>();
  private final ReentrantLock holdLock = new ReentrantLock();
  /** Who holds a node id and how many of its streams are open. */
  private record NodeHold(String principal, int streams) {}
  /**
   * Tests only: runs with the node id after a stream took its hold and before the stream is visible, so a test can
   * deliver another stream's close in that window (the reconnect race). Null in production.
   */
  volatile java.util.function.Consumer<String> afterHoldForTest;
  private final ReentrantLock pushLock = new ReentrantLock();
  // Each resource instance is serialized once for every proxy it goes to.
  private final PackedResources packed = new PackedResources();
  // Where responses are built and written: the changing thread unless keelson.xds.pushThreads says otherwise.
  private final PushExecutors pushExecutors = PushExecutors.fromSystemProperty();
  // Per calling proxy's locality, the endpoint priorities and weights of locality load balancing.
  private final LocalityAssignments localities = new LocalityAssignments();
  // State-of-the-world EDS responses carry only the assignments a proxy does not already hold.
  private final PartialEndpoints partialEndpoints = PartialEndpoints.fromSystemProperty();
  // One snapshot per translation (by identity), shared by every proxy given it; cleared on each change (guarded by pushLock).
  private final Map<MeshResources, Snapshot> snapshots = new java.util.IdentityHashMap<>();
  // Guarded by pushLock.
  private MeshResources forSidecars;
  private MeshResources forProxyless;
  // Sidecars whose node metadata names another outbound port: resources per port, rebuilt lazily after each change.
  private final Map<Integer, MeshResources> byOutboundPort = new java.util.HashMap<>();
  // Per identified sidecar, rebuilt lazily after each change (guarded by pushLock).
  private final Map<String, MeshResources> byNode = new java.util.HashMap<>();
  // Under pushLock: per translation instance (identity) and client namespace, that translation with its short names;
  // per localized translation, it at the mesh's path normalization level. Bounded by copies held.
  private final DerivedResourcesCache byClientNamespace = new DerivedResourcesCache(DERIVED_CACHE_ENTRIES);
  private final DerivedResourcesCache pathNormalized = new DerivedResourcesCache(DERIVED_CACHE_ENTRIES);
  // What identified sidecars of an outbound port share, rebuilt lazily after each change (guarded by pushLock).
  private final Map<Integer, MeshResources> identifiedByPort = new java.util.HashMap<>();
  // Sidecar translators of the other outbound ports, kept across changes (guarded by pushLock).
  private final Map<Integer, MeshTranslator> translators = new java.util.HashMap<>();
  // Captured sidecars' translators, by outbound port, kept across changes (guarded by pushLock).
  private final Map<Integer, MeshTranslator> capturedTranslators = new java.util.HashMap<>();
  // What captured sidecars of an outbound port share, with ("port/mtls") or without ("port/plain") an identity;
  // rebuilt lazily after each change (guarded by pushLock).
  private final Map<String, MeshResources> capturedByPort = new java.util.HashMap<>();
  private PolicySet translated = PolicySet.EMPTY;
  // The current state as proxies see it whose workload meets sourceLabels/sourceNamespace matches, and their shared
  // translations (guarded by pushLock).
  private final SourceViews sources = new SourceViews();
  // Mesh-wide telemetry defaults and providers (bin/keelson control's --access-log-*/--tracing-* flags).
  private volatile io.keelson.control.telemetry.MeshTelemetry telemetry = io.keelson.control.telemetry.MeshTelemetry.OFF;
  // Each proxy's telemetered resources, kept across translations while its listeners do not change (guarded by pushLock).
  private final TelemetryCache telemetered = new TelemetryCache();
  // EnvoyFilter verdicts by content, shared by proxies of one shape; swept after each change (guarded by pushLock).
  private final EnvoyFilterChecks envoyFilterChecks = new EnvoyFilterChecks();
  // The tracing collector's cluster for the current state, or null (guarded by pushLock).
  private io.envoyproxy.envoy.config.cluster.v3.Cluster collector;
  // External authorization providers (--mesh-config), and their clusters for the current state (guarded by pushLock).
  private volatile io.keelson.control.security.ExtensionProviders extensionProviders =
      io.keelson.control.security.ExtensionProviders.NONE;
  private volatile boolean gatewayProxyProtocol; // meshConfig defaultConfig.gatewayTopology.proxyProtocol
  private volatile boolean quicListeners; // istiod's PILOT_ENABLE_QUIC_LISTENERS
  private volatile PathNormalizationLevel pathNormalization = PathNormalizationLevel.DEFAULT; // meshConfig pathNormalization
  private volatile ExtAuthzClusters extAuthz = ExtAuthzClusters.NONE; // volatile: changedFor reads it without the lock
  private final int outboundPort;
  private final OutboundTrafficPolicy outboundPolicy;
  private final String trustDomain; // the mesh CA's
  private final java.time.Duration protocolDetectionTimeout; // Istio's meshConfig.protocolDetectionTimeout
  // Istio Sidecar resources: which one scopes a sidecar, and per scope its shared translations (guarded by pushLock).
  private final SidecarScopes scopes;
  private long pushes;
  /** DestinationRuleLookups the last {@link #changedFor} built (whole-state passes), for tests. */
  volatile int dryRunLookups;
  private Server server;
  private V3DiscoveryServer discovery;
  // SDS: the trust bundle every proxy gets (guarded by pushLock).
  private List<io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret> secrets = List.of();
  private String secretsVersion = "none";

  /**
   * Told about the workloads sidecars register at this server, to share them with other replicas. Called on
   * the gRPC thread of the registering stream: implementations must not block.
   */
  public interface Registrations {
    Registrations NONE = new Registrations() {
      @Override
      public void registered(String nodeId, Policy.Workload workload) {}

      @Override
      public void unregistered(String nodeId) {}
    };

    void registered(String nodeId, Policy.Workload workload);

    void unregistered(String nodeId);
  }

  /** @param outboundPort the port of the outbound listener proxies are sent */
  public XdsServer(PolicyStore store, int outboundPort) {
    this(store, outboundPort, OutboundTrafficPolicy.ALLOW_ANY);
  }

  /** @param outboundPolicy what captured sidecars do with traffic to hosts and ports the mesh does not know */
  public XdsServer(PolicyStore store, int outboundPort, OutboundTrafficPolicy outboundPolicy) {
    this(store, outboundPort, outboundPolicy, DetectedProtocolListeners.DEFAULT_DETECTION_TIMEOUT);
  }

  /**
   * @param protocolDetectionTimeout Istio's meshConfig.protocolDetectionTimeout: how long captured sidecars wait for a
   *                                 client's first bytes on a port with no declared protocol (zero: for ever)
   */
  public XdsServer(PolicyStore store, int outboundPort, OutboundTrafficPolicy outboundPolicy,
      java.time.Duration protocolDetectionTimeout) {
    this(store, outboundPort, outboundPolicy, protocolDetectionTimeout, MeshTranslator.DEFAULT_TRUST_DOMAIN);
  }

  /** @param trustDomain the mesh CA's trust domain (the SPIFFE IDs callers expect of VM endpoints) */
  public XdsServer(PolicyStore store, int outboundPort, OutboundTrafficPolicy outboundPolicy,
      java.time.Duration protocolDetectionTimeout, String trustDomain) {
    this.trustDomain = trustDomain;
    this.protocolDetectionTimeout = DetectedProtocolListeners.checkTimeout(protocolDetectionTimeout);
    this.outboundPolicy = outboundPolicy;
    this.store = store;
    this.outboundPort = outboundPort;
    this.sidecars = new MeshTranslator(outboundPort, false, false, outboundPolicy, protocolDetectionTimeout,
        MeshTranslator.DEFAULT_TRUST_DOMAIN, domainClashes);
    this.proxyless = new MeshTranslator(outboundPort, true, false, OutboundTrafficPolicy.ALLOW_ANY,
        java.time.Duration.ZERO, MeshTranslator.DEFAULT_TRUST_DOMAIN, domainClashes);
    this.scopes = new SidecarScopes(outboundPolicy, protocolDetectionTimeout, trustDomain,
        io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE, domainClashes);
  }

  /** The mesh telemetry defaults and providers (Istio's meshConfig); pushes the change to connected proxies. */
  public void setTelemetry(io.keelson.control.telemetry.MeshTelemetry telemetry) {
    pushLock.lock();
    try {
      this.telemetry = java.util.Objects.requireNonNull(telemetry);
      telemetered.clear();
    } finally {
      pushLock.unlock();
    }
    retranslate();
  }

  /**
   * Istio's meshConfig {@code defaultConfig.gatewayTopology.proxyProtocol}: every ingress gateway's listeners read a
   * PROXY protocol header first ({@link GatewayProxyProtocol}). Set before proxies connect.
   */
  public void setGatewayProxyProtocol(boolean enabled) {
    this.gatewayProxyProtocol = enabled;
  }

  /**
   * istiod's {@code PILOT_ENABLE_QUIC_LISTENERS}: every ingress gateway's HTTPS servers that terminate TLS are served
   * over HTTP/3 too, on a UDP listener of the same port, and their routes advertise it with {@code alt-svc}
   * ({@link GatewayQuic}). Pushes the change to connected proxies.
   */
  public void setQuicListeners(boolean enabled) {
    this.quicListeners = enabled;
    retranslate();
  }

  /**
   * Istio's meshConfig {@code pathNormalization.normalization}: every sidecar and gateway connection manager normalizes
   * request paths at this level ({@link PathNormalizationLevel}; BASE by default). Set before proxies connect.
   */
  public void setPathNormalization(PathNormalizationLevel level) {
    this.pathNormalization = java.util.Objects.requireNonNull(level);
  }

  /**
   * Istio's meshConfig {@code defaultServiceExportTo}, {@code defaultVirtualServiceExportTo} and
   * {@code defaultDestinationRuleExportTo} (each empty: {@code *}): the exportTo of documents that set none
   * ({@link ExportVisibility}). Set before proxies connect.
   */
  public void setExportToDefaults(ExportVisibility.Defaults defaults) {
    pushLock.lock();
    try {
      sources.exportDefaults(java.util.Objects.requireNonNull(defaults));
    } finally {
      pushLock.unlock();
    }
    retranslate();
  }

  /** A gateway's translated resources, with the PROXY protocol listener filter when the mesh config asks for it. */
  private MeshResources gatewayTopology(MeshResources gateway) {
    return gatewayProxyProtocol ? GatewayProxyProtocol.apply(gateway) : gateway;
  }

  /**
   * Istio's meshConfig.localityLbSetting.enabled: on (the default), a destination with outlierDetection fails over by
   * locality for every proxy; a DestinationRule's own localityLbSetting applies either way. Pushes the change.
   */
  public void setLocalityLb(boolean enabled) {
    localities.meshEnabled(enabled);
    retranslate();
  }

  public boolean localityLb() {
    return localities.meshEnabled();
  }

  public io.keelson.control.telemetry.MeshTelemetry telemetry() {
    return telemetry;
  }

  /** The external authorization providers CUSTOM AuthorizationPolicies name (Istio's meshConfig); pushes the change. */
  public void setExtensionProviders(io.keelson.control.security.ExtensionProviders providers) {
    this.extensionProviders = java.util.Objects.requireNonNull(providers);
    retranslate();
  }

  public io.keelson.control.security.ExtensionProviders extensionProviders() {
    return extensionProviders;
  }

  /** Binds {@code host:port} (0 = ephemeral) and starts serving; follows the store's changes from now on. */
  public XdsServer start(String host, int port) throws IOException {
    retranslate();
    store.onChange(state -> retranslate());
    server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .addService(adsService())
        .permitKeepAliveWithoutCalls(true)
        .build()
        .start();
    LOG.info("xDS (ADS, SotW and delta) listening on {}:{}", host, port());
    return this;
  }

  /** The ADS service, for a second (TLS, token-authenticated) server on the secure port. */
  public synchronized BindableService adsService() {
    if (discovery == null) {
      discovery = new V3DiscoveryServer(List.of(callbacks), cache,
          pushExecutors, packed);
    }
    BindableService ads = discovery.getAggregatedDiscoveryServiceImpl();
    return () -> ServerInterceptors.intercept(ads, partialEndpoints);
  }

  /** ClusterLoadAssignments left out of state-of-the-world responses since start because the proxy held them. */
  public long endpointsOmitted() {
    return partialEndpoints.omitted();
  }

  /** SDS secrets served to every proxy (the mesh trust bundle); pushes them to connected proxies. */
  public void setSecrets(List<io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret> secrets) {
    pushLock.lock();
    try {
      this.secrets = List.copyOf(secrets);
      this.secretsVersion = Integer.toHexString(this.secrets.hashCode());
      snapshots.clear(); // they carry the old secrets
    } finally {
      pushLock.unlock();
    }
    retranslate();
  }

  public int port() {
    return ((InetSocketAddress) server.getListenSockets().getFirst()).getPort();
  }

  /** Every connected proxy stream, oldest first. */
  public List<ProxyStatus> status() {
    List<ProxyStatus> out = new ArrayList<>();
    List<Policy.Service> services = new ArrayList<>(store.current().ofType(Policy.Service.class));
    services.addAll(io.keelson.control.store.ServiceEntries.asServices(store.current())); // their TCP/TLS ports too
    List<String> uncaptured = ProxyStatus.streamWarnings(services);
    for (ProxyState p : streams.values()) {
      // An SDS-only stream (node "<service>~sds") has no listeners to warn about.
      boolean listens = !p.nodeId.endsWith("~sds") && !captured.containsKey(p.nodeId)
          && !gatewayNodes.containsKey(p.nodeId);
      GatewayNode gw = gatewayNodes.get(p.nodeId);
      Policy.Sidecar scope = sidecarScope(p);
      List<String> warnings = listens ? uncaptured : gw == null ? List.of()
          : GatewayTranslator.warnings(store.current(), gw.registration().labels(), gw.namespace(),
              gw.spiffeId() != null); // servers it gets no chain for, and why
      if (gw != null) { // claim routes without a RequestAuthentication; CUSTOM policies its TLS/TCP servers cannot enforce
        MeshResources given = resourcesFor(p.nodeId);
        List<String> custom = given == null ? List.of()
            : GatewayPolicies.warnings(given, store.current(), gw.registration().labels(), namespace(p),
                extAuthz.providers());
        if (!custom.isEmpty()) {
          warnings = new ArrayList<>(warnings);
          warnings.addAll(custom);
        }
      }
      Policy.Workload w = registered.get(p.nodeId);
      if (gw == null && w != null && !p.proxyless && !identified.containsKey(p.nodeId)) {
        List<String> custom = ProxyStatus.customWarnings(io.keelson.control.security.ExtAuthzTranslator
            .customPoliciesMatching(w.labels(), store.current().ofType(Policy.AuthorizationPolicy.class)));
        if (!custom.isEmpty()) {
          warnings = new ArrayList<>(warnings);
          warnings.addAll(custom);
        }
      }
      MeshTranslator.Self self = captured.containsKey(p.nodeId) ? captured.get(p.nodeId) : identified.get(p.nodeId);
      String ignored = self == null || gw != null ? null
          : MeshTranslator.custom(store.current(), self, extAuthz).ignoredProvider();
      if (ignored != null) {
        warnings = new ArrayList<>(warnings);
        warnings.add(ProxyStatus.httpProviderOnTcpWarning(ignored));
      }
      String skippedOnAuto = self == null || gw != null ? null
          : MeshTranslator.providerSkippedOnAutoTcp(store.current(), self, extAuthz);
      if (skippedOnAuto != null) {
        warnings = new ArrayList<>(warnings);
        warnings.add(ProxyStatus.httpProviderOnAutoPortWarning(skippedOnAuto));
      }
      MeshTranslator.Self capturedSelf = captured.get(p.nodeId);
      List<String> ignoredIngress = SidecarScopes.ignoredIngress(scope,
          capturedSelf == null ? null : capturedSelf.capture());
      if (!ignoredIngress.isEmpty()) {
        warnings = new ArrayList<>(warnings);
        warnings.addAll(ignoredIngress);
      }
      boolean identity = gw != null ? gw.spiffeId() != null : self != null && self.spiffeId() != null;
      if (!identity && !p.proxyless && !p.nodeId.endsWith("~sds")) {
        List<String> closed = ServiceEntryTranslator.istioMutualWithoutIdentity(store.current());
        if (!closed.isEmpty()) {
          warnings = new ArrayList<>(warnings);
          warnings.addAll(closed);
        }
      }
      EnvoyFilterPatches.Patched envoyFilters = envoyFilterStatus(p);
      if (!envoyFilters.refused().isEmpty()) {
        warnings = new ArrayList<>(warnings);
        warnings.addAll(envoyFilters.refused());
      }
      out.add(ProxyStatus.of(p, w, warnings,
          gw == null ? null : gw.registration(), scope == null ? null : scope.meta().key(),
          envoyFilters.applied()));
    }
    out.sort(Comparator.comparing(ProxyStatus::connectedAt));
    return out;
  }

  /**
   * A connected gateway proxy as last pushed: its node id, registration labels, and the listeners and route
   * configurations of the snapshot last handed to the cache for it (empty before its first push).
   */
  public record PushedGateway(String nodeId, Map<String, String> labels,
      List<io.envoyproxy.envoy.config.listener.v3.Listener> listeners,
      List<io.envoyproxy.envoy.config.route.v3.RouteConfiguration> routes) {}

  /**
   * The connected gateway proxies whose registration labels {@code serving} accepts, by node id, with what they were
   * last pushed. Takes no pushLock and translates nothing: it reads the snapshot cache (which has its own lock), so a
   * listing of Gateways does not wait for, or redo, a push.
   */
  public List<PushedGateway> pushedGateways(java.util.function.Predicate<Map<String, String>> serving) {
    List<PushedGateway> out = new ArrayList<>();
    for (var e : new java.util.TreeMap<>(gatewayNodes).entrySet()) {
      Map<String, String> labels = e.getValue().registration().labels();
      if (!serving.test(labels)) {
        continue;
      }
      Snapshot s = cache.getSnapshot(e.getKey());
      out.add(new PushedGateway(e.getKey(), labels,
          s == null ? List.of() : List.copyOf(s.listeners().resources().values()),
          s == null ? List.of() : List.copyOf(s.routes().resources().values())));
    }
    return out;
  }

  /** The resources {@code nodeId} was last given, or null when no such proxy is connected. */
  public MeshResources resourcesFor(String nodeId) {
    for (ProxyState p : streams.values()) {
      if (p.nodeId.equals(nodeId)) {
        pushLock.lock();
        try {
          return resourcesFor(p);
        } finally {
          pushLock.unlock();
        }
      }
    }
    return null;
  }

  /** True when, under the mesh's exportTo defaults, some namespace does not see some document of {@code state}. */
  public boolean exportToLimits(PolicySet state) {
    return ExportVisibility.limits(state, sources.exportDefaults());
  }

  /**
   * What {@code state} would translate to for sidecars (a dry run), with today's registered workloads: mesh-wide,
   * exportTo not applied ({@link #changedFor} is per proxy view).
   */
  public MeshResources preview(PolicySet state) {
    return ChangeWarnings.quietly(() -> sidecars.translate(new DestinationRuleLookup(state,
        io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE).view(null), workloads()));
  }

  /** Resources currently given to sidecars. */
  public MeshResources current() {
    pushLock.lock();
    try {
      return forSidecars;
    } finally {
      pushLock.unlock();
    }
  }

  /**
   * Per connected proxy (by node id, sorted), the resource types whose content differs between
   * what {@code before} and {@code after} translate to <em>for that proxy</em> (its kind and its
   * outbound port); proxies with no difference are left out. Compared per proxy rather than by one
   * sidecar preview so that the answer names exactly the proxies a change reaches.
   */
  public Map<String, List<String>> changedFor(PolicySet before, PolicySet after) {
    return ChangeWarnings.quietly(() -> compared(before, after)); // a dry run: the state compared may never be
  }

  private Map<String, List<String>> compared(PolicySet before, PolicySet after) {
    List<Policy.Workload> workloads = List.copyOf(workloads());
    Map<String, MeshResources[]> byKind = new java.util.HashMap<>();
    Map<String, List<String>> out = new java.util.TreeMap<>();
    String root = io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE;
    // The proxies' views of both states, one per signature (not per proxy), as the live push makes them.
    SourceViews viewsBefore = SourceViews.of(before, sources.exportDefaults(), root);
    SourceViews viewsAfter = SourceViews.of(after, sources.exportDefaults(), root);
    for (ProxyState p : streams.values()) {
      if (out.containsKey(p.nodeId)) {
        continue;
      }
      GatewayNode gw = gatewayNodes.get(p.nodeId);
      if (gw != null) { // per gateway: its Gateways' listeners and routes over the mesh's clusters
        MeshTranslator t = translator(p.outboundPort);
        boolean mtls = gw.spiffeId() != null;
        Map<String, MeshTranslator.Self> ids = mtls ? workloadIdentities() : Map.of();
        Map<String, String> gwLabels = gw.registration().labels();
        PolicySet gwBefore = viewsBefore.view(viewsBefore.signature(gwLabels, namespace(p)), gwLabels, namespace(p));
        PolicySet gwAfter = viewsAfter.view(viewsAfter.signature(gwLabels, namespace(p)), gwLabels, namespace(p));
        List<String> types = withEnvoyFilters(p, before, after, typesChanged(
            gatewayTopology(GatewayPolicies.apply(GatewayTranslator.translate(t.translateShared(gwBefore, workloads, ids, mtls),
                gwBefore, gw.registration().labels(), gw.registration().address(), gw.namespace(), mtls, quicListeners,
                domainClashes), before,
                gw.registration().labels(), namespace(p), extAuthz)),
            gatewayTopology(GatewayPolicies.apply(GatewayTranslator.translate(t.translateShared(gwAfter, workloads, ids, mtls),
                gwAfter, gw.registration().labels(), gw.registration().address(), gw.namespace(), mtls, quicListeners,
                domainClashes), after,
                gw.registration().labels(), namespace(p), extAuthz))));
        types = withTelemetry(p, before, after, types);
        if (gw.namespace() != null && !GatewaySecrets.forGateway(gwBefore, gw.registration().labels(), gw.namespace())
            .secrets().equals(GatewaySecrets.forGateway(gwAfter, gw.registration().labels(), gw.namespace()).secrets())) {
          types = new ArrayList<>(types);
          types.add("secrets");
        }
        if (!types.isEmpty()) {
          out.put(p.nodeId, types);
        }
        continue;
      }
      boolean isCaptured = captured.containsKey(p.nodeId);
      Policy.Sidecar was = p.proxyless ? null : sidecarScope(p, before);
      Policy.Sidecar is = p.proxyless ? null : sidecarScope(p, after);
      String kind = p.proxyless ? "proxyless" : (isCaptured ? "captured:" : "sidecar:") + p.outboundPort;
      // Sidecars and proxyless clients see the states with their sourceLabels/sourceNamespace matches resolved,
      // what their namespace is not exported left out and the DestinationRules their namespace gets (same
      // signatures, same views).
      Map<String, String> labels = workloadLabels(p);
      String ns = namespace(p);
      String signatureBefore = viewsBefore.signature(labels, ns);
      String signatureAfter = viewsAfter.signature(labels, ns);
      kind += "|" + signatureBefore + "|" + signatureAfter;
      // The views are made (once per signature) only for a kind not compared yet.
      Supplier<PolicySet> seenBefore = () -> viewsBefore.view(signatureBefore, labels, ns);
      Supplier<PolicySet> seenAfter = () -> viewsAfter.view(signatureAfter, labels, ns);
      if (was != null || is != null) { // scoped by a Sidecar before or after: its own narrowed translations
        kind += "|" + (was == null ? "" : was.meta().key()) + "|" + (is == null ? "" : is.meta().key());
        byKind.computeIfAbsent(kind, k -> new MeshResources[] {
            SidecarScopes.preview(seenBefore.get(), was, p.outboundPort, isCaptured, outboundPolicy, protocolDetectionTimeout,
                workloads),
            SidecarScopes.preview(seenAfter.get(), is, p.outboundPort, isCaptured, outboundPolicy, protocolDetectionTimeout,
                workloads)});
      }
      MeshResources[] pair = byKind.computeIfAbsent(kind, k -> {
        MeshTranslator t = p.proxyless ? proxyless
            : isCaptured ? new MeshTranslator(p.outboundPort, false, true, outboundPolicy, protocolDetectionTimeout)
            : p.outboundPort == outboundPort ? sidecars
            : new MeshTranslator(p.outboundPort, false, false, outboundPolicy, protocolDetectionTimeout);
        return new MeshResources[] {t.translate(seenBefore.get(), workloads), t.translate(seenAfter.get(), workloads)};
      });
      // a client's short names are its namespace's services' (ClientNamespaceNames)
      List<String> named = typesChanged(ClientNamespaceNames.apply(pair[0], before, ns),
          ClientNamespaceNames.apply(pair[1], after, ns));
      List<String> types = p.proxyless ? named : withEnvoyFilters(p, before, after, withTelemetry(p, before, after, named));
      if (!types.isEmpty()) {
        out.put(p.nodeId, types);
      }
    }
    dryRunLookups = viewsBefore.lookups() + viewsAfter.lookups();
    return out;
  }

  /** {@code types} and those the EnvoyFilters selecting {@code p} that differ between the two states patch. */
  private List<String> withEnvoyFilters(ProxyState p, PolicySet before, PolicySet after, List<String> types) {
    List<String> patched = EnvoyFilterPatches.typesChanged(envoyFilters(p, before), envoyFilters(p, after));
    if (patched.isEmpty()) {
      return types;
    }
    java.util.Set<String> all = new java.util.LinkedHashSet<>(types);
    all.addAll(patched);
    return List.copyOf(all);
  }

  /**
   * {@code types} and what {@code p}'s own Telemetry change adds: Telemetry is per workload (or gateway), its
   * listeners (and the collector cluster) follow its own.
   */
  private List<String> withTelemetry(ProxyState p, PolicySet before, PolicySet after, List<String> types) {
    var was = proxyTelemetry(p, before);
    var is = proxyTelemetry(p, after);
    if (was.equals(is)) {
      return types;
    }
    java.util.Set<String> more = new java.util.LinkedHashSet<>(types);
    more.add("listeners");
    if (was.traced() != is.traced()) {
      more.add("clusters");
    }
    return List.of("listeners", "routes", "clusters", "endpoints").stream().filter(more::contains).toList();
  }

  /** The names (listeners, routes, clusters, endpoints) of the types whose versions differ. */
  public static List<String> typesChanged(MeshResources a, MeshResources b) {
    List<String> types = new ArrayList<>();
    if (!a.listenersVersion().equals(b.listenersVersion())) {
      types.add("listeners");
    }
    if (!a.routesVersion().equals(b.routesVersion())) {
      types.add("routes");
    }
    if (!a.clustersVersion().equals(b.clustersVersion())) {
      types.add("clusters");
    }
    if (!a.endpointsVersion().equals(b.endpointsVersion())) {
      types.add("endpoints");
    }
    return types;
  }

  /** Node ids of the connected proxies. */
  public List<String> nodeIds() {
    return streams.values().stream().map(p -> p.nodeId).distinct().sorted().toList();
  }

  public Map<String, Policy.Workload> registeredWorkloads() {
    return Map.copyOf(registered);
  }

  /** Where workloads registered here are shared with other replicas (call before {@link #start}). */
  public void setRegistrations(Registrations registrations) {
    this.registrations = registrations;
  }

  /** Replaces the workloads other replicas registered, by node id; a node registered here wins. */
  public void setPeerWorkloads(Map<String, Policy.Workload> byNode) {
    peers = Map.copyOf(byNode);
    retranslate();
  }

  public Map<String, Policy.Workload> peerWorkloads() {
    return peers;
  }

  /** Registered here and at other replicas. */
  private java.util.Collection<Policy.Workload> workloads() {
    Map<String, Policy.Workload> p = peers;
    if (p.isEmpty()) {
      return registered.values();
    }
    List<Policy.Workload> all = new java.util.ArrayList<>(registered.values());
    p.forEach((node, w) -> {
      if (!registered.containsKey(node)) {
        all.add(w);
      }
    });
    return all;
  }

  /** Snapshots handed to the cache since start (a proxy whose resources did not change gets none). */
  public long pushes() {
    pushLock.lock();
    try {
      return pushes;
    } finally {
      pushLock.unlock();
    }
  }

  private void retranslate() {
    pushLock.lock();
    try {
      // One DestinationRule per host as clients of no namespace with rules of their own see it; the others' views
      // are the source views' (per signature).
      PolicySet state = sources.changed(store.current(),
          io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
      domainClashes.changed(); // a route domain clash is warned about once while it lasts
      translated = state;
      byOutboundPort.clear();
      byNode.clear();
      byClientNamespace.clear();
      pathNormalized.clear();
      identifiedByPort.clear();
      capturedByPort.clear();
      snapshots.clear();
      scopes.changed(state);
      telemetered.translated();
      var tracing = telemetry.tracingProvider();
      collector = tracing == null ? null : TelemetryListeners.collector(tracing, allWorkloads(state));
      extAuthz = ExtAuthzClusters.of(extensionProviders, state, allWorkloads(state));
      forSidecars = sidecars.translate(state, workloads());
      forProxyless = null; // translated when a proxyless client needs it
      localities.begin(state, () -> allWorkloads(state));
      // Every connected proxy, not only those whose first request already made a watch in the cache:
      // a proxy between its stream opening and its first watch would keep a snapshot set before this change.
      Map<String, ProxyState> byNode = new java.util.HashMap<>();
      streams.values().forEach(p -> byNode.putIfAbsent(p.nodeId, p));
      byNode.forEach((node, p) -> push(node, resourcesFor(p), gatewaySecrets(node)));
      envoyFilterChecks.sweep(); // what no proxy uses any more
    } finally {
      pushLock.unlock();
    }
  }

  /**
   * Under pushLock. What {@code p} is given: its translation with its workload's telemetry (Telemetry resources and
   * the mesh defaults: {@link TelemetryListeners}); proxyless clients get none.
   */
  private MeshResources resourcesFor(ProxyState p) {
    MeshResources r = unpatched(p);
    List<Policy.EnvoyFilter> filters = envoyFilters(p, translated);
    if (filters.isEmpty()) {
      return r;
    }
    return patched(p, r, filters).resources();
  }

  /**
   * Under pushLock: {@code r} patched by {@code filters} for {@code p}; proxies whose unpatched resources and selected
   * EnvoyFilters are equal share the data plane's checks and the patched copy ({@link EnvoyFilterChecks}).
   */
  private EnvoyFilterPatches.Patched patched(ProxyState p, MeshResources r, List<Policy.EnvoyFilter> filters) {
    return envoyFilterChecks.apply(r, filters, gatewayNodes.containsKey(p.nodeId));
  }

  /** The data plane's translations run to check EnvoyFilters since start (for tests). */
  long envoyFilterTranslations() {
    pushLock.lock();
    try {
      return envoyFilterChecks.translations();
    } finally {
      pushLock.unlock();
    }
  }

  /** {@code p}'s EnvoyFilters as applied: the applied ones' keys, and a warning for each refused one. */
  private EnvoyFilterPatches.Patched envoyFilterStatus(ProxyState p) {
    pushLock.lock();
    try {
      List<Policy.EnvoyFilter> filters = envoyFilters(p, translated);
      return filters.isEmpty() ? new EnvoyFilterPatches.Patched(null, List.of(), List.of())
          : patched(p, unpatched(p), filters);
    } finally {
      pushLock.unlock();
    }
  }

  /** The EnvoyFilters of {@code state} selecting {@code p} (none for proxyless clients and SDS-only streams), in order. */
  private List<Policy.EnvoyFilter> envoyFilters(ProxyState p, PolicySet state) {
    if (p.proxyless || p.nodeId.endsWith("~sds")) {
      return List.of();
    }
    GatewayNode gw = gatewayNodes.get(p.nodeId);
    return EnvoyFilterPatches.select(state, namespace(p), gw != null ? gw.registration().labels() : workloadLabels(p),
        io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
  }

  /** Under pushLock: the state as {@code p}'s signature sees it (source matches, exportTo, its DestinationRules). */
  private PolicySet viewOf(ProxyState p) {
    GatewayNode gw = gatewayNodes.get(p.nodeId);
    Map<String, String> labels = gw != null ? gw.registration().labels() : workloadLabels(p);
    return sources.view(sources.signature(labels, namespace(p)), labels, namespace(p));
  }

  /** Under pushLock: {@code p}'s resources before EnvoyFilter patches. */
  private MeshResources unpatched(ProxyState p) {
    // Endpoints per the proxy's locality (shared by every proxy of that locality), before its telemetry.
    // The locality rules are those of the DestinationRules the proxy's view has (its namespace's own first).
    MeshResources r = localities.localize(withClientNames(p, translationFor(p)), localities.caller(p.locality, p.labels),
        viewOf(p));
    if (p.proxyless) {
      return r;
    }
    // istiod sets it on every sidecar and gateway connection manager; one result per input, so TelemetryCache hits
    PathNormalizationLevel level = pathNormalization;
    r = level == PathNormalizationLevel.DEFAULT ? r : pathNormalized.get(r, level.name(), level::apply);
    if (telemetry.inert(translated.ofType(Policy.Telemetry.class))) {
      return r;
    }
    var t = proxyTelemetry(p, translated);
    String ns = namespace(p); // a service key of another namespace than default already ends with it (ServiceNames)
    return telemetered.apply(r, t, telemetry, p.service.endsWith("." + ns) ? p.service : p.service + "." + ns, collector);
  }

  /**
   * {@code p}'s telemetry under {@code state}'s Telemetry documents and the mesh defaults; a gateway's is resolved
   * against its registration's labels and runs the CLIENT side on every listener ({@code ProxyTelemetry.asGateway}).
   */
  private io.keelson.control.telemetry.TelemetryResolver.ProxyTelemetry proxyTelemetry(ProxyState p, PolicySet state) {
    GatewayNode gw = gatewayNodes.get(p.nodeId);
    Policy.Workload w = registered.get(p.nodeId);
    Map<String, String> labels = gw != null ? gw.registration().labels() : w == null ? Map.of() : w.labels();
    var t = io.keelson.control.telemetry.TelemetryResolver.resolve(namespace(p), labels,
        state.ofType(Policy.Telemetry.class), state.ofType(Policy.Gateway.class), telemetry,
        io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
    return gw != null ? t.asGateway() : t;
  }

  /**
   * {@code p}'s workload namespace: a gateway's join token's (the namespace its Secrets are read from), else its (or its
   * gateway's) SPIFFE ID's, else its stream's ({@link ProxyState#namespace}: its join token's, or on the plaintext
   * port its node metadata's, a proxyless gRPC client's), {@code default} without any.
   */
  private String namespace(ProxyState p) {
    GatewayNode gw = gatewayNodes.get(p.nodeId);
    if (gw != null && gw.namespace() != null) {
      return gw.namespace();
    }
    MeshTranslator.Self self = captured.containsKey(p.nodeId) ? captured.get(p.nodeId) : identified.get(p.nodeId);
    String spiffeId = gw != null ? gw.spiffeId() : self != null ? self.spiffeId() : null;
    return spiffeId != null ? io.keelson.dataplane.security.SpiffeId.parse(spiffeId).namespace()
        : p.namespace != null ? p.namespace : "default";
  }

  /** The workloads of {@code state} and those registered here and at other replicas. */
  private List<Policy.Workload> allWorkloads(PolicySet state) {
    List<Policy.Workload> all = new ArrayList<>(state.ofType(Policy.Workload.class));
    all.addAll(workloads());
    return all;
  }

  /**
   * Under pushLock: {@code t} as sidecar {@code p}'s app sees names: short names of its namespace's services
   * ({@link ClientNamespaceNames}), one result per translation and namespace. Gateways route by their own hosts.
   */
  private MeshResources withClientNames(ProxyState p, MeshResources t) {
    if (gatewayNodes.containsKey(p.nodeId)) {
      return t;
    }
    String namespace = namespace(p);
    return byClientNamespace.get(t, namespace,
        k -> ClientNamespaceNames.apply(k, translated, namespace, domainClashes));
  }

  /** Under pushLock: the mesh translation for {@code p}, before telemetry. */
  private MeshResources translationFor(ProxyState p) {
    if (p.proxyless) {
      String signature = sources.signature(workloadLabels(p), namespace(p));
      if (!signature.isEmpty()) { // its sourceLabels/sourceNamespace matches resolved, shared per signature
        return sources.shared(signature, "proxyless", () -> proxyless.translate(
            sources.view(signature, workloadLabels(p), namespace(p)), workloads()));
      }
      if (forProxyless == null) {
        forProxyless = proxyless.translate(translated, workloads());
      }
      return forProxyless;
    }
    GatewayNode gw = gatewayNodes.get(p.nodeId);
    if (gw != null) {
      // Its routes as its workload sees them (sourceLabels/sourceNamespace matches resolved for it, exportTo for its
      // namespace), with the DestinationRules of its namespace first.
      String signature = sources.signature(gw.registration().labels(), namespace(p));
      PolicySet routes = sources.view(signature, gw.registration().labels(), namespace(p));
      boolean mtls = gw.spiffeId() != null;
      // The mesh's clusters as identified sidecars of its port get them (mTLS with the gateway's identity), or plain;
      // translated again (once per signature, port and identity or not) when its namespace sees less or has
      // DestinationRules of its own.
      MeshResources shared = SourceViews.exports(signature) || sources.ownRulesFor(namespace(p))
          ? sources.shared(signature, "gateway|" + p.outboundPort + "|" + mtls, () -> mtls
              ? translator(p.outboundPort).translateShared(routes, workloads(), workloadIdentities(), true)
              : translator(p.outboundPort).translate(routes, workloads()))
          : mtls ? identifiedByPort.computeIfAbsent(p.outboundPort,
              port -> translator(port).translateShared(translated, workloads(), workloadIdentities(), true))
          : p.outboundPort == outboundPort ? forSidecars : byOutboundPort.computeIfAbsent(p.outboundPort,
              port -> translator(port).translate(translated, workloads()));
      return byNode.computeIfAbsent(p.nodeId, n -> gatewayTopology(GatewayPolicies.apply(UndefinedClusters.defined(
          GatewayTranslator.translate(shared, routes, gw.registration().labels(), gw.registration().address(),
          gw.namespace(), gw.spiffeId() != null, quicListeners, domainClashes), true), translated,
          gw.registration().labels(), namespace(p), extAuthz)));
          // its AuthorizationPolicies and RequestAuthentications, then the mesh's gateway topology
    }
    Policy.Sidecar scope = sidecarScope(p);
    String signature = sources.signature(workloadLabels(p), namespace(p));
    if (!signature.isEmpty()) {
      return sourceTranslation(p, scope, signature);
    }
    if (scope != null) {
      return scopedTranslation(p, scope);
    }
    MeshTranslator.Self capture = captured.get(p.nodeId);
    if (capture != null) {
      // One shared translation per outbound port and identity or not; per node its virtualInbound and app cluster.
      boolean mtls = capture.spiffeId() != null;
      MeshResources shared = capturedByPort.computeIfAbsent(p.outboundPort + (mtls ? "/mtls" : "/plain"),
          k -> capturedTranslators.computeIfAbsent(p.outboundPort,
                  q -> translator(q, true, outboundPolicy))
              .translateShared(translated, workloads(), mtls ? workloadIdentities() : Map.of(), mtls));
      return byNode.computeIfAbsent(p.nodeId, n -> MeshTranslator.withInbound(shared, translated, capture, extAuthz,
          protocolDetectionTimeout));
    }
    MeshTranslator.Self self = identified.get(p.nodeId);
    if (self != null) {
      // One shared translation per outbound port for every sidecar with an identity; per node only its inbound listener.
      MeshResources shared = identifiedByPort.computeIfAbsent(p.outboundPort,
          port -> translator(port).translateShared(translated, workloads(), workloadIdentities(), true));
      return byNode.computeIfAbsent(p.nodeId, n -> MeshTranslator.withInbound(shared, translated, self, extAuthz,
          protocolDetectionTimeout));
    }
    MeshResources shared = p.outboundPort == outboundPort ? forSidecars : byOutboundPort.computeIfAbsent(p.outboundPort,
        port -> translator(port).translate(translated, workloads()));
    MeshTranslator.Self app = plainApps.get(p.nodeId);
    return app == null ? shared
        : byNode.computeIfAbsent(p.nodeId, n -> MeshTranslator.withApp(shared, translated, app.service(), app.appPort()));
  }

  /**
   * Under pushLock: {@code p}'s translation when Sidecar {@code scope} scopes it: the scope's shared translation for its
   * port, capture and identity (one per scope, not per proxy), plus its own inbound listener or app cluster.
   */
  private MeshResources scopedTranslation(ProxyState p, Policy.Sidecar scope) {
    MeshTranslator.Self capture = captured.get(p.nodeId);
    MeshTranslator.Self self = capture != null ? capture : identified.get(p.nodeId);
    boolean mtls = self != null && self.spiffeId() != null;
    MeshResources shared = scopes.shared(translated, scope, p.outboundPort, capture != null, mtls, this::workloads,
        this::workloadIdentities);
    return perNode(p, self, shared, scope);
  }

  /**
   * Under pushLock: {@code p}'s translation when the state has matches by source ({@code sourceLabels},
   * {@code sourceNamespace}): the translation of the state as its {@code signature} sees it, shared by every sidecar of
   * that signature, Sidecar {@code scope} (or none), port, capture and identity, plus its own inbound listener or app
   * cluster.
   */
  private MeshResources sourceTranslation(ProxyState p, Policy.Sidecar scope, String signature) {
    MeshTranslator.Self capture = captured.get(p.nodeId);
    MeshTranslator.Self self = capture != null ? capture : identified.get(p.nodeId);
    boolean mtls = self != null && self.spiffeId() != null;
    PolicySet view = sources.view(signature, workloadLabels(p), namespace(p));
    String kind = (scope == null ? "" : scope.meta().key()) + "|" + p.outboundPort + "|" + (capture != null) + "|" + mtls;
    MeshResources shared = sources.shared(signature, kind, () -> translator(p.outboundPort, capture != null,
        scope == null ? outboundPolicy : SidecarScopes.mode(scope, outboundPolicy))
        .translateShared(scope == null ? view : SidecarScopes.scoped(view, scope), workloads(),
        mtls ? workloadIdentities() : Map.of(), mtls));
    return perNode(p, self, shared, scope);
  }

  /**
   * Under pushLock: {@code shared} plus {@code p}'s own part, cached per node: the inbound listener of a sidecar with
   * a registered {@code self} (captured or identified; Sidecar {@code scope}'s ingress applied), the app cluster of a
   * plain sidecar's app, else {@code shared}.
   */
  private MeshResources perNode(ProxyState p, MeshTranslator.Self self, MeshResources shared, Policy.Sidecar scope) {
    if (self != null) {
      return byNode.computeIfAbsent(p.nodeId, n -> MeshTranslator.withInbound(shared, translated, self, extAuthz,
          protocolDetectionTimeout, scope));
    }
    MeshTranslator.Self app = plainApps.get(p.nodeId);
    return app == null ? shared
        : byNode.computeIfAbsent(p.nodeId, n -> MeshTranslator.withApp(shared, translated, app.service(), app.appPort()));
  }

  /** Shared translations of the current state's source views (one per signature and proxy kind), for tests. */
  int sourceTranslations() {
    pushLock.lock();
    try {
      return sources.size();
    } finally {
      pushLock.unlock();
    }
  }

  /** Proxy signatures computed for the current state (once per namespace and workload labels), for tests. */
  int signaturesComputed() {
    pushLock.lock();
    try {
      return sources.signaturesComputed();
    } finally {
      pushLock.unlock();
    }
  }

  /** The Sidecar scoping sidecar {@code p} under the current state, or null (gateways and proxyless clients: none). */
  private Policy.Sidecar sidecarScope(ProxyState p) {
    if (p.proxyless || gatewayNodes.containsKey(p.nodeId) || p.nodeId.endsWith("~sds")) {
      return null;
    }
    pushLock.lock();
    try {
      return scopes.resolve(namespace(p), workloadLabels(p));
    } finally {
      pushLock.unlock();
    }
  }

  /** As {@link #sidecarScope(ProxyState)}, under {@code state}. */
  private Policy.Sidecar sidecarScope(ProxyState p, PolicySet state) {
    if (p.proxyless || gatewayNodes.containsKey(p.nodeId) || p.nodeId.endsWith("~sds")) {
      return null;
    }
    return SidecarScopes.resolve(state.ofType(Policy.Sidecar.class), namespace(p), workloadLabels(p),
        io.keelson.control.security.AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
  }

  private Map<String, String> workloadLabels(ProxyState p) {
    Policy.Workload w = registered.get(p.nodeId);
    return w != null ? w.labels() : p.labels;
  }

  /**
   * What a sidecar of {@code service} gets for its outbound traffic in the plain (not captured) shape, for
   * {@code explain}, and the key of the Sidecar scoping it (null: none, the mesh's view). The scope is a connected
   * sidecar's of that service, else the one a Workload document's labels select, else its namespace's or the mesh's.
   */
  public ScopedView outboundFor(String service) {
    pushLock.lock();
    try {
      ProxyState proxy = streams.values().stream().filter(p -> p.service.equals(service)).findFirst().orElse(null);
      Map<String, String> labels = translated.ofType(Policy.Workload.class).stream()
          .filter(w -> w.service().equals(service)).findFirst().map(Policy.Workload::labels).orElse(Map.of());
      // A connected sidecar's namespace, else its Service's (a key NAME.NS), as its short names resolve there.
      String namespace = proxy != null ? namespace(proxy)
          : translated.service(service) instanceof Policy.Service svc ? svc.serviceNamespace() : MeshNames.NAMESPACE;
      Policy.Sidecar sc = proxy != null ? sidecarScope(proxy) : scopes.resolve(namespace, labels);
      // Its sourceLabels/sourceNamespace matches resolved for it (a connected sidecar's workload, else the Workload's).
      Map<String, String> source = proxy != null ? workloadLabels(proxy) : labels;
      String signature = sources.signature(source, namespace);
      MeshResources seen = !signature.isEmpty()
          ? SidecarScopes.preview(sources.view(signature, source, namespace), sc, outboundPort, false, outboundPolicy,
              protocolDetectionTimeout, workloads())
          : sc == null ? forSidecars
          : SidecarScopes.preview(translated, sc, outboundPort, false, outboundPolicy, protocolDetectionTimeout,
              workloads());
      MeshResources view = ClientNamespaceNames.apply(seen, translated, namespace, domainClashes);
      List<Policy.EnvoyFilter> filters = proxy == null ? List.of() : envoyFilters(proxy, translated);
      if (filters.isEmpty()) {
        return new ScopedView(view, sc == null ? null : sc.meta().key(), List.of());
      }
      // as its sidecar runs it: patched by the EnvoyFilters selecting it (those the data plane would take)
      EnvoyFilterPatches.Patched patchedView = envoyFilterChecks.apply(view, filters, false);
      return new ScopedView(patchedView.resources(), sc == null ? null : sc.meta().key(), patchedView.applied());
    } finally {
      pushLock.unlock();
    }
  }

  /**
   * A sidecar's outbound resources, the key of the Sidecar that scoped them (null: the mesh's whole view), and the
   * EnvoyFilters that patched them ({@code EnvoyFilter/ns/name}, in order; empty: none).
   */
  public record ScopedView(MeshResources resources, String sidecar, List<String> envoyFilters) {}

  /**
   * The sidecar translator of an outbound port, kept across changes (under pushLock): its endpoint
   * lists are reused by the next change when their workloads did not change.
   */
  private MeshTranslator translator(int port) {
    return port == outboundPort ? sidecars
        : translators.computeIfAbsent(port, q -> translator(q, false, outboundPolicy));
  }

  /** A sidecars' translator for outbound port {@code port}, warning of domain clashes through this server's memory. */
  private MeshTranslator translator(int port, boolean captured, OutboundTrafficPolicy mode) {
    return new MeshTranslator(port, false, captured, mode, protocolDetectionTimeout, trustDomain, domainClashes);
  }

  /** Shared translations run since start (sidecars, per outbound port, identified, proxyless), for tests. */
  long translations() {
    return sumOverTranslators(MeshTranslator::translations);
  }

  /** Shared translations run for Sidecar scopes since start (one per scope and proxy kind per change), for tests. */
  long scopedTranslations() {
    pushLock.lock();
    try {
      return scopes.translations();
    } finally {
      pushLock.unlock();
    }
  }

  /** Per-locality ClusterLoadAssignments derived (not reused) since start, for tests. */
  long localityAssignmentsBuilt() {
    return localities.built();
  }

  /** ClusterLoadAssignments built (not reused) since start, by every translator, for tests. */
  long assignmentsBuilt() {
    return sumOverTranslators(MeshTranslator::assignmentsBuilt);
  }

  private long sumOverTranslators(ToLongFunction<MeshTranslator> count) {
    pushLock.lock();
    try {
      long n = count.applyAsLong(sidecars) + count.applyAsLong(proxyless);
      for (MeshTranslator t : translators.values()) {
        n += count.applyAsLong(t);
      }
      for (MeshTranslator t : capturedTranslators.values()) {
        n += count.applyAsLong(t);
      }
      return n;
    } finally {
      pushLock.unlock();
    }
  }

  /** Identified registered workloads, by workload name. */
  private Map<String, MeshTranslator.Self> workloadIdentities() {
    Map<String, MeshTranslator.Self> out = new java.util.HashMap<>();
    registered.forEach((node, w) -> {
      MeshTranslator.Self s = identified.get(node);
      if (s != null) {
        out.put(w.name(), s);
      }
    });
    return out;
  }

  /** Under pushLock: the SDS secrets of a gateway on the authenticated port, none for any other proxy. */
  private GatewaySecrets.ForProxy gatewaySecrets(String nodeId) {
    GatewayNode gw = gatewayNodes.get(nodeId);
    if (gw == null || gw.namespace() == null) {
      return GatewaySecrets.ForProxy.NONE;
    }
    // From the view its clusters come from: the DestinationRules (credentialName) its namespace gets.
    Map<String, String> labels = gw.registration().labels();
    return GatewaySecrets.forGateway(sources.view(sources.signature(labels, gw.namespace()), labels, gw.namespace()),
        labels, gw.namespace());
  }

  /** The names of the SDS secrets {@code nodeId}'s snapshot holds, for tests. */
  java.util.Set<String> secretNamesFor(String nodeId) {
    Snapshot s = cache.getSnapshot(nodeId);
    return s == null ? java.util.Set.of() : java.util.Set.copyOf(s.secrets().resources().keySet());
  }

  /**
   * Under pushLock. A gateway's own secrets change only its SDS version: its listeners name them, so a rotated
   * Secret is no listener push.
   */
  private void push(String nodeId, MeshResources r, GatewaySecrets.ForProxy own) {
    String secretsVersion = own.secrets().isEmpty() ? this.secretsVersion : this.secretsVersion + "." + own.version();
    Snapshot old = cache.getSnapshot(nodeId);
    if (old != null && old.version(io.envoyproxy.controlplane.cache.Resources.V3.LISTENER_TYPE_URL).equals(r.listenersVersion())
        && old.version(io.envoyproxy.controlplane.cache.Resources.V3.ROUTE_TYPE_URL).equals(r.routesVersion())
        && old.version(io.envoyproxy.controlplane.cache.Resources.V3.CLUSTER_TYPE_URL).equals(r.clustersVersion())
        && old.version(io.envoyproxy.controlplane.cache.Resources.V3.ENDPOINT_TYPE_URL).equals(r.endpointsVersion())
        && old.version(io.envoyproxy.controlplane.cache.Resources.V3.SECRET_TYPE_URL).equals(secretsVersion)) {
      return;
    }
    Snapshot snapshot;
    if (own.secrets().isEmpty()) {
      snapshot = snapshots.computeIfAbsent(r, k -> Snapshot.create(r.clusters(), r.clustersVersion(),
          r.endpoints(), r.endpointsVersion(), r.listeners(), r.listenersVersion(), r.routes(), r.routesVersion(),
          secrets, secretsVersion));
    } else {
      List<io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret> all = new ArrayList<>(secrets);
      all.addAll(own.secrets());
      snapshot = Snapshot.create(r.clusters(), r.clustersVersion(), r.endpoints(), r.endpointsVersion(), r.listeners(),
          r.listenersVersion(), r.routes(), r.routesVersion(), all, secretsVersion);
    }
    cache.setSnapshot(nodeId, snapshot);
    pushes++;
  }

  /**
   * @throws io.envoyproxy.controlplane.server.exception.RequestException INVALID_ARGUMENT, naming the metadata
   *         key, when the node says it is captured but its registration is unusable (the stream is closed)
   */
  private void opened(long streamId, Node node, boolean delta)
      throws io.envoyproxy.controlplane.server.exception.RequestException {
    if (streams.containsKey(streamId)) {
      return;
    }
    NodeRegistration.Capture capture;
    NodeRegistration.Gateway gateway;
    String nodeNamespace;
    try {
      capture = NodeRegistration.capture(node, outboundPort);
      nodeNamespace = NodeRegistration.namespace(node);
      gateway = NodeRegistration.gateway(node);
      if (gateway != null && capture != null) {
        throw new IllegalArgumentException("node " + node.getId() + ": " + NodeRegistration.GATEWAY + " and "
            + NodeRegistration.CAPTURE + " exclude each other; a gateway is not a captured sidecar");
      }
    } catch (IllegalArgumentException e) {
      LOG.warn("refusing proxy {}: {}", node.getId(), e.getMessage());
      throw new io.envoyproxy.controlplane.server.exception.RequestException(
          io.grpc.Status.INVALID_ARGUMENT.withDescription(e.getMessage()));
    }
    boolean isProxyless = NodeRegistration.proxyless(node);
    Policy.Workload w = gateway != null ? null : NodeRegistration.workload(node); // a gateway registers no workload
    String spiffeId = NodeRegistration.spiffeId(node);
    try {
      if (spiffeId != null) {
        io.keelson.dataplane.security.SpiffeId.parse(spiffeId);
      }
    } catch (IllegalArgumentException e) {
      LOG.warn("proxy {}: ignoring its SPIFFE ID: {}", node.getId(), e.getMessage());
      spiffeId = null;
    }
    var token = io.keelson.control.auth.TokenAuthentication.BINDING.get();
    spiffeId = boundToToken(node.getId(), spiffeId, token);
    if (w != null) {
      String problem = io.keelson.control.policy.ServiceNames.serviceNameProblem(w.service());
      if (problem != null) {
        String why = "node " + node.getId() + ": its service (--service) " + problem + "; a sidecar registers to the"
            + " Service of its own namespace";
        LOG.warn("refusing proxy {}: {}", node.getId(), why);
        throw new io.envoyproxy.controlplane.server.exception.RequestException(
            io.grpc.Status.INVALID_ARGUMENT.withDescription(why));
      }
    }
    // The authenticated namespace: the join token's, else the SPIFFE ID's; node metadata only without either
    // (the plaintext port). It picks the proxy's view (exportTo, DestinationRules, Sidecar, Telemetry, EnvoyFilters).
    if (token != null && nodeNamespace != null && !nodeNamespace.equals(token.namespace())) {
      String why = "node " + node.getId() + ": its metadata namespace '" + nodeNamespace + "' is not its join token's"
          + " namespace '" + token.namespace() + "'; drop " + NodeRegistration.NAMESPACE + "/"
          + NodeRegistration.ISTIO_NAMESPACE + " or use a token of namespace " + nodeNamespace;
      LOG.warn("refusing proxy {}: {}", node.getId(), why);
      throw new io.envoyproxy.controlplane.server.exception.RequestException(
          io.grpc.Status.PERMISSION_DENIED.withDescription(why));
    }
    String namespace = token != null ? token.namespace()
        : spiffeId != null ? io.keelson.dataplane.security.SpiffeId.parse(spiffeId).namespace() : nodeNamespace;
    if (w != null) {
      w = inNamespace(w, node.getId(), namespace);
    }
    ProxyState state = new ProxyState(streamId, node.getId(), w != null ? w.service() : node.getCluster(), delta,
        isProxyless, NodeRegistration.outboundPort(node, outboundPort), NodeRegistration.proxyLocality(node, w),
        NodeRegistration.augmented(node, w != null ? w.labels() : gateway != null ? gateway.labels()
            : isProxyless ? NodeRegistration.labels(node) : Map.of()), namespace); // failoverPriority, sourceLabels
    String principal = token == null ? "plaintext" : "token:" + token.namespace();
    holdLock.lock();
    try {
      NodeHold hold = nodePrincipals.get(node.getId());
      if (hold != null && !hold.principal().equals(principal)) {
        String why = "node id " + node.getId() + " is in use by an open stream of another client (" + hold.principal()
            + "; this stream: " + principal + "): a node id is one proxy's; use a unique node id per proxy";
        LOG.warn("refusing proxy {}: {}", node.getId(), why);
        throw new io.envoyproxy.controlplane.server.exception.RequestException(
            io.grpc.Status.PERMISSION_DENIED.withDescription(why));
      }
      nodePrincipals.put(node.getId(), new NodeHold(principal, hold == null ? 1 : hold.streams() + 1));
      var afterHold = afterHoldForTest;
      if (afterHold != null) {
        afterHold.accept(node.getId());
      }
      if (gateway != null) {
        // Known as a gateway before its stream is visible: a concurrent push must not send it a sidecar's listeners.
        gatewayNodes.put(node.getId(), new GatewayNode(gateway, spiffeId, token == null ? null : token.namespace()));
      }
      streams.put(streamId, state);
    } finally {
      holdLock.unlock();
    }
    LOG.info("proxy {} connected (stream {}, {}{}{})", node.getId(), streamId, delta ? "delta" : "state of the world",
        w == null ? "" : ", registers " + w.service() + " at " + w.address() + ":" + w.port() + " " + w.labels(),
        state.locality.isEmpty() ? "" : ", in " + state.locality);
    if (gateway != null) {
      LOG.info("proxy {} is an ingress gateway {} on {}{}", node.getId(), gateway.labels(), gateway.address(),
          spiffeId == null ? " (no identity: it calls the mesh in plaintext)" : " as " + spiffeId);
    }
    if (w != null && capture != null) {
      MeshTranslator.Self self = new MeshTranslator.Self(spiffeId, capture.inboundPort(), capture.appPort(), w.labels(),
          NodeRegistration.tcpInbound(node), capture, w.service());
      captured.put(node.getId(), self);
      if (spiffeId != null) {
        identified.put(node.getId(), self); // callers originate mTLS to it
      }
    } else if (w != null && spiffeId != null) {
      identified.put(node.getId(), new MeshTranslator.Self(spiffeId, w.port(), NodeRegistration.appPort(node), w.labels(),
          NodeRegistration.tcpInbound(node), null, w.service()));
    } else if (w != null && !NodeRegistration.tcpInbound(node)) {
      plainApps.put(node.getId(), new MeshTranslator.Self(null, w.port(), NodeRegistration.appPort(node), w.labels(),
          false, null, w.service()));
    }
    if (w != null) {
      registered.put(node.getId(), w);
      registrations.registered(node.getId(), w);
      retranslate(); // endpoints changed for everyone, this node included
    }
    pushLock.lock();
    try {
      push(node.getId(), resourcesFor(state), gatewaySecrets(node.getId()));
    } finally {
      pushLock.unlock();
    }
  }

  /**
   * How loud a sidecar registering to a Service its namespace {@code namespace} has not is: WARN when the namespace has
   * other Services (a misspelt {@code --service}, or one left out of the applied set), INFO when it has none yet (the
   * sidecars of a namespace that start before its Services are applied, as in a fresh mesh).
   */
  static org.slf4j.event.Level unregisteredServiceLevel(PolicySet state, String namespace) {
    return state.ofType(Policy.Service.class).stream().anyMatch(s -> s.serviceNamespace().equals(namespace))
        ? org.slf4j.event.Level.WARN : org.slf4j.event.Level.INFO;
  }

  /**
   * Workload {@code w} of a node of {@code namespace} (null: default): an endpoint of its own namespace's Service of
   * its service's name only, as a pod is only ever an endpoint of its namespace's Services (never of namespace default's
   * of that name). Without such a Service it registers serving nothing (it still calls the mesh, as a pod without a
   * Service does) and joins the Service once one of that name is applied in its namespace. Its name has no '.'
   * (refused before), so it never names another namespace's Service.
   */
  private Policy.Workload inNamespace(Policy.Workload w, String nodeId, String namespace) {
    String ns = namespace == null || namespace.isEmpty() ? io.keelson.control.policy.ServiceNames.DEFAULT_NAMESPACE
        : namespace;
    String key = io.keelson.control.policy.ServiceNames.key(w.service(), ns);
    if (store.current().service(key) == null) {
      LOG.atLevel(unregisteredServiceLevel(store.current(), ns)).log("proxy {} of namespace {} registers to service"
          + " '{}', which namespace {} has not: it serves nothing until a Service '{}' is applied in namespace {} (a"
          + " sidecar is never an endpoint of another namespace's Service)", nodeId, ns, w.service(), ns, w.service(), ns);
    }
    Policy.Meta m = w.meta();
    // Kept as documents keep it: "" for default.
    String metaNamespace = ns.equals(io.keelson.control.policy.ServiceNames.DEFAULT_NAMESPACE) ? "" : ns;
    return new Policy.Workload(new Policy.Meta(m.apiVersion(), m.kind(), m.name(), m.file(), m.source(), metaNamespace),
        key, w.address(), w.port(), w.labels());
  }

  /**
   * On the secure port, the identity a proxy announces must be its join token's: another namespace or
   * service account is replaced by the token's (in the announced trust domain), so a token for one
   * workload cannot make callers expect another's identity. Null {@code token}: the plaintext port.
   */
  static String boundToToken(String nodeId, String spiffeId, io.keelson.control.auth.JoinTokens.Binding token) {
    if (token == null || spiffeId == null) {
      return spiffeId;
    }
    var claimed = io.keelson.dataplane.security.SpiffeId.parse(spiffeId);
    if (claimed.namespace().equals(token.namespace()) && claimed.serviceAccount().equals(token.serviceAccount())) {
      return spiffeId;
    }
    String bound = new io.keelson.dataplane.security.SpiffeId(claimed.trustDomain(), token.namespace(),
        token.serviceAccount()).uri();
    LOG.warn("proxy {} announced {} but its join token {} grants {}: using {}", nodeId, spiffeId, token.tokenId(),
        token.namespace() + "/" + token.serviceAccount(), bound);
    return bound;
  }

  private void closed(long streamId) {
    holdLock.lock();
    try {
      ProxyState p = streams.remove(streamId);
      if (p == null) {
        return;
      }
      LOG.info("proxy {} disconnected (stream {})", p.nodeId, streamId);
      NodeHold hold = nodePrincipals.get(p.nodeId);
      if (hold != null && hold.streams() > 1) {
        nodePrincipals.put(p.nodeId, new NodeHold(hold.principal(), hold.streams() - 1)); // another stream still open
        return;
      }
      // The last stream of this node id: tear down under holdLock, so a new stream of it registers before or after.
      identified.remove(p.nodeId);
      captured.remove(p.nodeId);
      plainApps.remove(p.nodeId);
      gatewayNodes.remove(p.nodeId);
      if (registered.remove(p.nodeId) != null) {
        registrations.unregistered(p.nodeId);
        retranslate();
      }
      pushLock.lock();
      try {
        cache.clearSnapshot(p.nodeId);
      } finally {
        pushLock.unlock();
      }
      nodePrincipals.remove(p.nodeId); // after the entry is gone: a stream of another principal finds it empty
    } finally {
      holdLock.unlock();
    }
  }

  private final DiscoveryServerCallbacks callbacks = new DiscoveryServerCallbacks() {
    @Override
    public void onV3StreamRequest(long streamId, DiscoveryRequest request)
        throws io.envoyproxy.controlplane.server.exception.RequestException {
      requested(streamId, request.hasNode() ? request.getNode() : null, false, request.getTypeUrl(),
          request.getResponseNonce(), request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
    }

    @Override
    public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request)
        throws io.envoyproxy.controlplane.server.exception.RequestException {
      requested(streamId, request.hasNode() ? request.getNode() : null, true, request.getTypeUrl(),
          request.getResponseNonce(), request.hasErrorDetail() ? request.getErrorDetail().getMessage() : null);
    }

    /** A request on a SotW or delta stream: the stream opened (when it names its node), then its ACK or NACK. */
    private void requested(long streamId, Node node, boolean delta, String typeUrl, String nonce, String nack)
        throws io.envoyproxy.controlplane.server.exception.RequestException {
      if (node != null) {
        opened(streamId, node, delta);
      }
      ProxyState p = streams.get(streamId);
      if (p != null) {
        p.answered(typeUrl, nonce, nack);
      }
    }

    @Override
    public void onV3StreamResponse(long streamId, DiscoveryRequest request, DiscoveryResponse response) {
      ProxyState p = streams.get(streamId);
      if (p != null) {
        p.sent(response.getTypeUrl(), response.getNonce(), response.getVersionInfo());
      }
    }

    @Override
    public void onV3StreamDeltaResponse(long streamId, DeltaDiscoveryRequest request, DeltaDiscoveryResponse response) {
      ProxyState p = streams.get(streamId);
      if (p != null) {
        p.sent(response.getTypeUrl(), response.getNonce(), response.getSystemVersionInfo());
      }
    }

    @Override
    public void onStreamClose(long streamId, String typeUrl) {
      closed(streamId);
    }

    @Override
    public void onStreamCloseWithError(long streamId, String typeUrl, Throwable error) {
      closed(streamId);
    }
  };

  @Override
  public void close() throws InterruptedException {
    if (server != null) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    pushExecutors.close();
  }
}
