package io.keelson.dataplane.xds;

import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.keelson.dataplane.config.Http2Options;
import io.keelson.dataplane.config.envoy.AdsSource;
import java.time.Duration;
import java.util.Objects;

/**
 * How the data plane talks to its control plane over ADS. Immutable.
 *
 * @param host            the ADS server's address
 * @param port            the ADS server's port
 * @param delta           incremental (DeltaAggregatedResources) rather than state of the world
 * @param node            sent on every request so the control plane can tell proxies apart (id, cluster, metadata)
 * @param staticResources listeners and clusters from the bootstrap, served alongside the xDS ones
 * @param initialBackoff  first reconnect delay; doubled per failed attempt, with jitter
 * @param maxBackoff      upper bound of the reconnect delay
 * @param credentials     TLS root and join token for the control plane's secure port (plaintext, no token when
 *                        {@link io.keelson.dataplane.security.ControlPlaneCredentials#rootCaFile()} and the token are null)
 * @param localSecrets    the workload identity SDS secrets {@code default}/{@code ROOTCA} resolve to, or null
 * @param http2Defaults   every connection manager's HTTP/2 defaults, static or from LDS: the bootstrap's
 *                        {@code layered_runtime} applied ({@link AdsSource#http2Defaults()}), as Envoy's runtime is process-wide
 * @param dnsResolver     the bootstrap's DNS resolver config, every DNS cluster's without its own (CDS ones too), or
 *                        null for the system's ({@link AdsSource#dnsResolver()})
 */
public record XdsClientConfig(
    String host,
    int port,
    boolean delta,
    Node node,
    Bootstrap.StaticResources staticResources,
    Duration initialBackoff,
    Duration maxBackoff,
    io.keelson.dataplane.security.ControlPlaneCredentials credentials,
    io.keelson.dataplane.security.CertificateSource localSecrets,
    Http2Options http2Defaults,
    io.keelson.dataplane.config.DnsResolverConfig dnsResolver) {

  public static final io.keelson.dataplane.security.ControlPlaneCredentials PLAINTEXT =
      new io.keelson.dataplane.security.ControlPlaneCredentials(null, null);

  /** Envoy's defaults: 500 ms doubling up to 30 s. */
  public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(500);
  public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(30);

  public XdsClientConfig {
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(staticResources, "staticResources");
    Objects.requireNonNull(credentials, "credentials");
    Objects.requireNonNull(http2Defaults, "http2Defaults");
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("xDS server port " + port + " is out of range; expected 1-65535");
    }
    if (initialBackoff.isNegative() || initialBackoff.isZero() || maxBackoff.compareTo(initialBackoff) < 0) {
      throw new IllegalArgumentException("backoff " + initialBackoff + ".." + maxBackoff
          + " is not valid; expected 0 < initial <= max");
    }
  }

  /**
   * The client a bootstrap's dynamic_resources describe, with the defaults: Envoy's backoff, plaintext, no
   * local SDS secrets (change them with the {@code with...} methods); its runtime's HTTP/2 defaults.
   */
  public static XdsClientConfig fromBootstrap(AdsSource source) {
    return new XdsClientConfig(source.host(), source.port(), source.delta(), source.node(), source.staticResources(),
        DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF, PLAINTEXT, null, source.http2Defaults(), source.dnsResolver());
  }

  /** A client with no static resources (tests, a control plane that sends everything), otherwise as {@link #fromBootstrap}. */
  public static XdsClientConfig of(String host, int port, boolean delta, Node node) {
    return new XdsClientConfig(host, port, delta, node, Bootstrap.StaticResources.getDefaultInstance(),
        DEFAULT_INITIAL_BACKOFF, DEFAULT_MAX_BACKOFF, PLAINTEXT, null, Http2Options.DEFAULT, null);
  }

  public XdsClientConfig withBackoff(Duration initial, Duration max) {
    return new XdsClientConfig(host, port, delta, node, staticResources, initial, max, credentials, localSecrets,
        http2Defaults, dnsResolver);
  }

  /** The same client over TLS with a join token (the control plane's secure port). */
  public XdsClientConfig withCredentials(io.keelson.dataplane.security.ControlPlaneCredentials c) {
    return new XdsClientConfig(host, port, delta, node, staticResources, initialBackoff, maxBackoff, c, localSecrets,
        http2Defaults, dnsResolver);
  }

  /**
   * The same client resolving SDS secret references {@code default} and {@code ROOTCA} in TLS contexts
   * to {@code source} (the proxy's workload identity).
   */
  public XdsClientConfig withLocalSecrets(io.keelson.dataplane.security.CertificateSource source) {
    return new XdsClientConfig(host, port, delta, node, staticResources, initialBackoff, maxBackoff, credentials, source,
        http2Defaults, dnsResolver);
  }

  /** The same client with {@code defaults} as every connection manager's HTTP/2 defaults (a bootstrap's runtime applied). */
  public XdsClientConfig withHttp2Defaults(Http2Options defaults) {
    return new XdsClientConfig(host, port, delta, node, staticResources, initialBackoff, maxBackoff, credentials,
        localSecrets, defaults, dnsResolver);
  }
}
