package io.keelson.control.api;

import io.keelson.control.auth.JoinTokens;
import io.keelson.control.auth.SecureXdsPort;
import io.keelson.control.auth.TokenAuthentication;
import io.keelson.control.ca.CaException;
import io.keelson.control.ca.CaLoader;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.CertificateService;
import io.keelson.control.ca.ControlPlaneIdentity;
import io.keelson.control.ca.MeshCa;
import io.keelson.control.ca.TrustBundleSecret;
import io.keelson.control.policy.PolicyException;
import io.keelson.dataplane.security.CertificateRotator;
import io.keelson.control.store.ConfigDirWatcher;
import io.keelson.control.store.DataDir;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.store.etcd.EtcdException;
import io.keelson.control.store.etcd.EtcdStore;
import io.keelson.control.telemetry.MeshTelemetry;
import io.keelson.control.xds.XdsServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The whole control plane: store (memory, data dir, watched config dir; or etcd shared by several
 * replicas), xDS server and HTTP API.
 * Start it with {@link #start(Options)}; close to stop. Thread-safe.
 */
public final class ControlPlane implements AutoCloseable {
  /**
   * @param bind         address both servers listen on
   * @param xdsPort      gRPC xDS port (0 = ephemeral)
   * @param apiPort      HTTP API port (0 = ephemeral)
   * @param configDir    a watched directory of YAML documents, or null
   * @param dataDir      where applied state is persisted, or null (memory only)
   * @param outboundPort the outbound listener port proxies are given
   * @param ca           the mesh CA (a self-signed root in the data dir by default)
   * @param xdsTlsPort   the secure port (TLS + join tokens: ADS and the certificate service); 0 = ephemeral,
   *                     -1 = not served
   * @param etcd         the shared etcd store, or null for the embedded one (memory, data dir)
   * @param telemetry    the mesh-wide access log and tracing defaults and providers (Istio's meshConfig)
   * @param outboundTrafficPolicy Istio's meshConfig.outboundTrafficPolicy.mode (null: ALLOW_ANY)
   * @param localityLb   Istio's meshConfig.localityLbSetting.enabled (default true)
   * @param extensionProviders Istio's meshConfig.extensionProviders (external authorizers for CUSTOM policies)
   * @param protocolDetectionTimeout Istio's meshConfig.protocolDetectionTimeout (null: 0s, no timeout)
   * @param gatewayProxyProtocol Istio's meshConfig defaultConfig.gatewayTopology.proxyProtocol: gateways' listeners
   *                     read a PROXY protocol header first
   * @param pathNormalization Istio's meshConfig pathNormalization.normalization (null: BASE, Istio's default)
   * @param exportTo   Istio's meshConfig default{Service,VirtualService,DestinationRule}ExportTo (null: all {@code *})
   */
  public record Options(String bind, int xdsPort, int apiPort, Path configDir, Path dataDir, int outboundPort,
      CaOptions ca, int xdsTlsPort, EtcdStore.Options etcd, MeshTelemetry telemetry,
      io.keelson.control.xds.OutboundTrafficPolicy outboundTrafficPolicy, boolean localityLb,
      io.keelson.control.security.ExtensionProviders extensionProviders, Duration protocolDetectionTimeout,
      boolean gatewayProxyProtocol, io.keelson.control.xds.PathNormalizationLevel pathNormalization,
      io.keelson.control.xds.ExportVisibility.Defaults exportTo) {
    public Options {
      exportTo = exportTo == null ? io.keelson.control.xds.ExportVisibility.Defaults.PUBLIC : exportTo;
      pathNormalization = pathNormalization == null ? io.keelson.control.xds.PathNormalizationLevel.DEFAULT
          : pathNormalization;
      protocolDetectionTimeout = protocolDetectionTimeout == null ? Duration.ZERO : protocolDetectionTimeout;
      extensionProviders = extensionProviders == null ? io.keelson.control.security.ExtensionProviders.NONE
          : extensionProviders;
      telemetry = telemetry == null ? MeshTelemetry.OFF : telemetry;
      outboundTrafficPolicy = outboundTrafficPolicy == null ? io.keelson.control.xds.OutboundTrafficPolicy.ALLOW_ANY
          : outboundTrafficPolicy;
    }

    public Options(String bind, int xdsPort, int apiPort, Path configDir, Path dataDir, int outboundPort,
        CaOptions ca, int xdsTlsPort, EtcdStore.Options etcd, MeshTelemetry telemetry,
        io.keelson.control.xds.OutboundTrafficPolicy outboundTrafficPolicy) {
      this(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, telemetry,
          outboundTrafficPolicy, true, null, null, false, null, null);
    }

    public Options(String bind, int xdsPort, int apiPort, Path configDir, Path dataDir, int outboundPort,
        CaOptions ca, int xdsTlsPort, EtcdStore.Options etcd) {
      this(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, MeshTelemetry.OFF, null);
    }

    public Options(String bind, int xdsPort, int apiPort, Path configDir, Path dataDir, int outboundPort,
        CaOptions ca, int xdsTlsPort) {
      this(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, null);
    }

    public Options(String bind, int xdsPort, int apiPort, Path configDir, Path dataDir, int outboundPort) {
      this(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, CaOptions.selfSigned(dataDir), -1);
    }

    public Options withEtcd(EtcdStore.Options e) {
      return new Options(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, e, telemetry,
          outboundTrafficPolicy, localityLb, extensionProviders, protocolDetectionTimeout,
          gatewayProxyProtocol, pathNormalization, exportTo);
    }

    public Options withTelemetry(MeshTelemetry t) {
      return new Options(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, t,
          outboundTrafficPolicy, localityLb, extensionProviders, protocolDetectionTimeout,
          gatewayProxyProtocol, pathNormalization, exportTo);
    }

    /** Istio's meshConfig.outboundTrafficPolicy.mode for captured sidecars. */
    public Options withOutboundTrafficPolicy(io.keelson.control.xds.OutboundTrafficPolicy p) {
      return new Options(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, telemetry, p,
          localityLb, extensionProviders, protocolDetectionTimeout,
          gatewayProxyProtocol, pathNormalization, exportTo);
    }

    /** Istio's meshConfig.localityLbSetting.enabled: false turns the mesh default off (DestinationRules still apply). */
    public Options withLocalityLb(boolean enabled) {
      return new Options(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, telemetry,
          outboundTrafficPolicy, enabled, extensionProviders, protocolDetectionTimeout,
          gatewayProxyProtocol, pathNormalization, exportTo);
    }

    /**
     * Istio's meshConfig.protocolDetectionTimeout: how long captured sidecars wait for a client's first bytes on a port
     * with no declared protocol before relaying it as TCP; zero (the default) waits for ever.
     */
    public Options withProtocolDetectionTimeout(Duration d) {
      return new Options(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, telemetry,
          outboundTrafficPolicy, localityLb, extensionProviders, d, gatewayProxyProtocol, pathNormalization, exportTo);
    }

    /** Istio's meshConfig defaultConfig.gatewayTopology.proxyProtocol (see {@link io.keelson.control.xds.GatewayProxyProtocol}). */
    public Options withGatewayProxyProtocol(boolean enabled) {
      return new Options(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, telemetry,
          outboundTrafficPolicy, localityLb, extensionProviders, protocolDetectionTimeout, enabled, pathNormalization, exportTo);
    }

    /** Istio's meshConfig.extensionProviders: the external authorizers CUSTOM AuthorizationPolicies name. */
    public Options withExtensionProviders(io.keelson.control.security.ExtensionProviders p) {
      return new Options(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, telemetry,
          outboundTrafficPolicy, localityLb, p, protocolDetectionTimeout, gatewayProxyProtocol, pathNormalization, exportTo);
    }

    /** Istio's meshConfig exportTo defaults for documents that set no exportTo. */
    public Options withExportTo(io.keelson.control.xds.ExportVisibility.Defaults defaults) {
      return new Options(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, telemetry,
          outboundTrafficPolicy, localityLb, extensionProviders, protocolDetectionTimeout, gatewayProxyProtocol,
          pathNormalization, defaults);
    }

    /** Istio's meshConfig pathNormalization.normalization for every sidecar and gateway connection manager. */
    public Options withPathNormalization(io.keelson.control.xds.PathNormalizationLevel level) {
      return new Options(bind, xdsPort, apiPort, configDir, dataDir, outboundPort, ca, xdsTlsPort, etcd, telemetry,
          outboundTrafficPolicy, localityLb, extensionProviders, protocolDetectionTimeout, gatewayProxyProtocol, level, exportTo);
    }
  }

  public final PolicyStore store;
  public final XdsServer xds;
  public final ApiServer api;
  public final Security security;
  private final ConfigDirWatcher watcher;
  /** The etcd store, or null when the store is embedded. */
  public final EtcdStore etcd;

  /**
   * The mesh CA, join tokens, the certificate service and the secure port (null when not served).
   * {@code identity} is the control plane's own rotating serving certificate.
   */
  public record Security(MeshCa ca, JoinTokens tokens, TokenAuthentication auth, CertificateService certificates,
      CertificateRotator identity, SecureXdsPort securePort) {}

  private ControlPlane(PolicyStore store, XdsServer xds, ApiServer api, Security security, ConfigDirWatcher watcher,
      EtcdStore etcd) {
    this.etcd = etcd;
    this.store = store;
    this.xds = xds;
    this.api = api;
    this.security = security;
    this.watcher = watcher;
  }

  /**
   * @throws IOException with an {@link EtcdException} cause, naming the endpoints, when etcd does not answer
   *                     within the start timeout
   */
  public static ControlPlane start(Options o) throws IOException, PolicyException {
    EtcdStore etcd = null;
    if (o.etcd() != null) {
      try {
        etcd = EtcdStore.connect(o.etcd());
      } catch (EtcdException e) {
        throw new IOException(e.getMessage(), e);
      }
    }
    Security security;
    try {
      security = security(o, etcd);
    } catch (IOException e) {
      if (etcd != null) {
        try {
          etcd.close();
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
        }
      }
      throw e;
    }
    PolicyStore store = etcd != null ? etcd.store : new PolicyStore(o.dataDir() == null ? null : new DataDir(o.dataDir()));
    XdsServer xds = new XdsServer(store, o.outboundPort(), o.outboundTrafficPolicy(), o.protocolDetectionTimeout(),
        security.ca().trustDomain());
    xds.setTelemetry(o.telemetry());
    xds.setExtensionProviders(o.extensionProviders());
    xds.setLocalityLb(o.localityLb());
    xds.setGatewayProxyProtocol(o.gatewayProxyProtocol());
    xds.setPathNormalization(o.pathNormalization());
    xds.setExportToDefaults(o.exportTo());
    if (etcd != null) {
      etcd.follow(xds);
    }
    ConfigDirWatcher watcher = o.configDir() == null ? null
        : new ConfigDirWatcher(o.configDir(), store).start(Duration.ofMillis(500));
    xds.setSecrets(List.of(TrustBundleSecret.of(security.ca().roots())));
    xds.start(o.bind(), o.xdsPort());
    if (o.xdsTlsPort() >= 0) {
      try {
        CertificateRotator identity = ControlPlaneIdentity.start(security.ca(), o.bind());
        SecureXdsPort port = SecureXdsPort.start(o.bind(), o.xdsTlsPort(), identity, security.auth(), xds.adsService(),
            security.certificates().definition());
        security = new Security(security.ca(), security.tokens(), security.auth(), security.certificates(), identity,
            port);
      } catch (IOException e) {
        throw e;
      } catch (Exception e) {
        throw new IOException("cannot start the secure xDS port: " + e.getMessage(), e);
      }
    }
    EtcdStore etcdStore = etcd;
    ConfigDirWatcher dirWatcher = watcher;
    ApiServer api = new ApiServer(store, xds).withSecurity(security.tokens(), security.ca(),
        security.certificates(), security.auth()).withStoreProblems(() -> storeProblems(dirWatcher, etcdStore))
        .start(o.bind(), o.apiPort());
    return new ControlPlane(store, xds, api, security, watcher, etcd);
  }

  /** With etcd, the CA must match the one the other replicas recorded, and the join tokens are etcd's. */
  private static Security security(Options o, EtcdStore etcd) throws IOException {
    MeshCa ca;
    try {
      ca = CaLoader.load(o.ca());
    } catch (CaException e) {
      throw new IOException(e.getMessage(), e);
    }
    JoinTokens tokens;
    if (etcd != null) {
      try {
        etcd.recordOrCheckCa(ca.roots());
      } catch (EtcdException e) {
        throw new IOException(e.getMessage(), e);
      }
      tokens = JoinTokens.shared(etcd.joinTokens(), java.time.Clock.systemUTC());
    } else {
      tokens = new JoinTokens(o.dataDir());
    }
    return new Security(ca, tokens, new TokenAuthentication(tokens), new CertificateService(ca), null, null);
  }

  /** What the store could not take, for {@code keelson status}: each source's last rejection, if any. */
  private static List<String> storeProblems(ConfigDirWatcher watcher, EtcdStore etcd) {
    List<String> out = new java.util.ArrayList<>();
    if (watcher != null && watcher.lastError() != null) {
      out.add("--config-dir: " + watcher.lastError());
    }
    if (etcd != null && etcd.lastError() != null) {
      out.add("etcd policies: " + etcd.lastError());
    }
    if (etcd != null && etcd.joinTokens().lastError() != null) {
      out.add("etcd join tokens: " + etcd.joinTokens().lastError());
    }
    return out;
  }

  /** The config dir's last rejection, or null. */
  public String configDirError() {
    return watcher == null ? null : watcher.lastError();
  }

  @Override
  public void close() throws InterruptedException {
    api.close();
    if (security.securePort() != null) {
      security.securePort().close();
      security.identity().close();
    }
    xds.close();
    if (watcher != null) {
      watcher.close();
    }
    if (etcd != null) {
      etcd.close();
    }
  }
}
