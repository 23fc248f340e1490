package io.keelson.control.sidecar;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.AdsSource;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.config.envoy.StaticBootstrap;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.xds.XdsClient;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A running sidecar (or ingress gateway, {@link SidecarBootstrap#gateway()}, whose listeners all come over xDS):
 * the proxy with its inbound and outbound listeners bound, then its xDS client,
 * which registers the workload (with the ports actually bound) and programs the outbound listener.
 * Closing it ends the xDS stream (the control plane deregisters the workload) and drains the proxy.
 * Thread-safe.
 */
public final class Sidecar implements AutoCloseable {
  private final SidecarBootstrap bootstrap;
  private final ProxyServer server;
  private final XdsClient xds;
  private final Node node;
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
  private volatile io.keelson.dataplane.security.WorkloadIdentity identity;
  private volatile io.keelson.dataplane.dns.DnsServer dns;

  private Sidecar(SidecarBootstrap bootstrap, ProxyServer server, XdsClient xds, Node node) {
    this.bootstrap = bootstrap;
    this.server = server;
    this.xds = xds;
    this.node = node;
  }

  /**
   * A sidecar on the control plane's secure port: xDS over TLS with a join token, and a workload
   * identity (certificate by CSR, rotated; trust bundle over SDS). Fails if the token is refused.
   */
  public static Sidecar start(SidecarBootstrap bootstrap, ProxyOptions options, Duration maxBackoff,
      io.keelson.dataplane.security.ControlPlaneCredentials credentials) throws Exception {
    io.keelson.dataplane.security.WorkloadIdentity identity = null;
    if (credentials.joinToken() != null) {
      identity = io.keelson.dataplane.security.WorkloadIdentity.start(bootstrap.xdsHost(), bootstrap.xdsPort(),
          credentials, bootstrap.service(), null, io.keelson.dataplane.security.CertificateRotator.DEFAULT_ROTATION_FRACTION);
    }
    try {
      Sidecar s = start(bootstrap, options, maxBackoff, credentials, identity);
      s.identity = identity;
      return s;
    } catch (Exception e) {
      if (identity != null) {
        identity.close();
      }
      throw e;
    }
  }

  /** The workload identity when started with a join token, else null. */
  public io.keelson.dataplane.security.WorkloadIdentity identity() {
    return identity;
  }

  /**
   * Binds the listeners and connects to the control plane. {@code options}' admin address is
   * replaced by the bootstrap's.
   *
   * @throws ConfigException       if the generated bootstrap does not load (a bug, with the field)
   * @throws IllegalStateException if a port cannot be bound
   */
  public static Sidecar start(SidecarBootstrap bootstrap, ProxyOptions options, Duration maxBackoff)
      throws ConfigException, InterruptedException {
    return start(bootstrap, options, maxBackoff, XdsClientConfig.PLAINTEXT, null);
  }

  /**
   * {@code identity} null with a join token in {@code credentials}: a proxy authenticated by its token that asks for
   * no workload certificate (package-private for tests of that case).
   */
  static Sidecar start(SidecarBootstrap bootstrap, ProxyOptions options, Duration maxBackoff,
      io.keelson.dataplane.security.ControlPlaneCredentials credentials,
      io.keelson.dataplane.security.WorkloadIdentity identity)
      throws ConfigException, InterruptedException {
    return start(bootstrap, bootstrap.yaml(), options, maxBackoff, credentials, identity);
  }

  /**
   * As above, loading {@code yaml} (the bootstrap's, or one that adds to it: tests of bootstrap fields a generated
   * bootstrap leaves out, such as {@code typed_dns_resolver_config}).
   */
  static Sidecar start(SidecarBootstrap bootstrap, String yaml, ProxyOptions options, Duration maxBackoff,
      io.keelson.dataplane.security.ControlPlaneCredentials credentials,
      io.keelson.dataplane.security.WorkloadIdentity identity)
      throws ConfigException, InterruptedException {
    String source = "sidecar bootstrap for " + bootstrap.service();
    StaticBootstrap loaded = BootstrapLoader.parseBootstrap(yaml, source);
    AdsSource ads = BootstrapLoader.parseAdsSource(yaml, source);
    ProxyServer server = new ProxyServer(loaded.snapshot(),
        options.withAdmin(bootstrap.adminHost(), bootstrap.adminPort()).withAwaitsXds(true));
    // The node names this workload in the istio_* metrics' source/destination labels (and in the metadata exchange
    // headers it sends), as with --config; its workload certificate gives its principal and namespace.
    server.stats().identity(io.keelson.dataplane.config.envoy.NodeIdentity.fromBootstrap(yaml, source)
        .withPrincipal(identity == null ? null : identity.source().current().spiffeUri()));
    server.context().serviceCluster(io.keelson.dataplane.config.envoy.NodeIdentity.serviceCluster(yaml, source));
    server.start();
    try {
      Node node = bootstrap.gateway() ? bootstrap.node(server.adminAddress().getPort(), 0) // no static listeners
          : bootstrap.node(server.listenerAddress(bootstrap.inboundListener()).getPort(),
              server.listenerAddress(bootstrap.outboundListener()).getPort());
      if (identity != null) {
        // Tells the control plane this workload speaks mesh mTLS, and as whom (its certificate's SPIFFE ID).
        node = SidecarBootstrap.withSpiffeId(node, identity.source().current().spiffeUri());
      }
      XdsClientConfig config = new XdsClientConfig(ads.host(), ads.port(), ads.delta(), node, ads.staticResources(),
          XdsClientConfig.DEFAULT_INITIAL_BACKOFF.compareTo(maxBackoff) < 0 ? XdsClientConfig.DEFAULT_INITIAL_BACKOFF : maxBackoff,
          maxBackoff, credentials,
          identity == null ? null : identity.source(), // SDS "default"/"ROOTCA" in TLS contexts
          ads.http2Defaults(), // the bootstrap's runtime, for LDS listeners too
          ads.dnsResolver()); // the bootstrap's typed_dns_resolver_config, for CDS DNS clusters too
      XdsClient xds = XdsClient.startInstalling(config, server::install);
      server.attach(xds);
      return new Sidecar(bootstrap, server, xds, node);
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
  }

  public String nodeId() {
    return node.getId();
  }

  public InetSocketAddress inboundAddress() {
    return server.listenerAddress(bootstrap.inboundListener());
  }

  public InetSocketAddress outboundAddress() {
    return server.listenerAddress(bootstrap.outboundListener());
  }

  public ProxyServer server() {
    return server;
  }

  public XdsClient xds() {
    return xds;
  }

  /**
   * Starts the DNS proxy ({@code --dns-capture}): it answers the mesh's names from the name table of the snapshot in
   * effect (the control plane's, in virtualOutbound's metadata) and forwards the rest; closed with the sidecar.
   *
   * @throws IllegalStateException naming the address when it cannot bind
   */
  public synchronized io.keelson.dataplane.dns.DnsServer startDns(io.keelson.dataplane.dns.DnsConfig config)
      throws InterruptedException {
    if (dns != null) {
      throw new IllegalStateException("the DNS proxy is already running on " + dns.udpAddress());
    }
    dns = io.keelson.dataplane.dns.DnsServer.start(config, () -> server.snapshot().config().names(), server.stats());
    return dns;
  }

  /** The DNS proxy, or null when it was not started. */
  public io.keelson.dataplane.dns.DnsServer dns() {
    return dns;
  }

  public SidecarBootstrap bootstrap() {
    return bootstrap;
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (dns != null) {
      dns.close();
    }
    xds.close();
    server.close();
    if (identity != null) {
      identity.close();
    }
  }
}
