package io.keelson.dataplane.tls;

import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.OpenSslContextOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLException;

/**
 * Builds Netty {@link SslContext}s from {@link DownstreamTlsConfig} / {@link UpstreamTlsConfig}.
 * Every failure is a {@link TlsConfigException} naming the Envoy field (relative to the TLS context).
 * Stateless and thread-safe; call when a config is loaded, never per connection.
 */
public final class TlsContexts {
  static final String CERT_CHAIN = "common_tls_context.tls_certificates[0].certificate_chain";
  static final String PRIVATE_KEY = "common_tls_context.tls_certificates[0].private_key";
  static final String TRUSTED_CA = "common_tls_context.validation_context.trusted_ca";
  static final String TLS_PARAMS = "common_tls_context.tls_params";
  /** Server session cache entries (TLS 1.2 session ids; TLS 1.3 uses stateless tickets). */
  static final long SESSION_CACHE_SIZE = 20_480;
  static final long SESSION_TIMEOUT_SECONDS = 300;

  private TlsContexts() {}

  public static ServerTls server(DownstreamTlsConfig config) {
    return server(config, TlsProvider.selected());
  }

  public static ServerTls server(DownstreamTlsConfig config, SslProvider provider) {
    X509Certificate[] chain = PemMaterial.certificates(config.certificateChain(), CERT_CHAIN);
    PrivateKey key = PemMaterial.privateKey(config.privateKey(), PRIVATE_KEY);
    PemMaterial.checkKeyMatches(key, chain[0], PRIVATE_KEY);
    SslContextBuilder b = SslContextBuilder.forServer(key, chain).sslProvider(provider);
    javax.net.ssl.TrustManager trust = null;
    if (config.trustedCa() != null) {
      X509Certificate[] cas = PemMaterial.certificates(config.trustedCa(), TRUSTED_CA);
      trust = new SanCheckingTrustManager(cas, config.clientSans());
      b.trustManager(trust);
      b.clientAuth(config.requireClientCert() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
    } else if (config.requireClientCert()) {
      throw new TlsConfigException("require_client_certificate",
          "true needs common_tls_context.validation_context.trusted_ca to verify client certificates");
    } else if (!config.clientSans().isEmpty()) {
      throw new TlsConfigException("common_tls_context.validation_context.match_typed_subject_alt_names",
          "SAN matchers need validation_context.trusted_ca");
    }
    return finishServer(b, config, provider, ServerCredentials.of(key, chain, trust, config.requireClientCert()));
  }

  public static ClientTls client(UpstreamTlsConfig config) {
    return client(config, TlsProvider.selected());
  }

  public static ClientTls client(UpstreamTlsConfig config, SslProvider provider) {
    SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider).endpointIdentificationAlgorithm(null);
    if (config.certificateChain() != null || config.privateKey() != null) {
      if (config.certificateChain() == null || config.privateKey() == null) {
        throw new TlsConfigException("common_tls_context.tls_certificates[0]",
            "a client certificate needs both certificate_chain and private_key");
      }
      X509Certificate[] chain = PemMaterial.certificates(config.certificateChain(), CERT_CHAIN);
      PrivateKey key = PemMaterial.privateKey(config.privateKey(), PRIVATE_KEY);
      PemMaterial.checkKeyMatches(key, chain[0], PRIVATE_KEY);
      b.keyManager(key, chain);
    }
    if (config.trustedCa() != null) {
      X509Certificate[] cas = PemMaterial.certificates(config.trustedCa(), TRUSTED_CA);
      b.trustManager(new SanCheckingTrustManager(cas, config.serverSans()));
    } else if (!config.serverSans().isEmpty()) {
      throw new TlsConfigException("common_tls_context.validation_context.match_typed_subject_alt_names",
          "SAN matchers need validation_context.trusted_ca");
    } else {
      b.trustManager(InsecureTrustManagerFactory.INSTANCE); // Envoy: no trusted_ca, no verification
    }
    return withMeshHttpAlpn(config, b, provider);
  }

  /**
   * A listener's TLS on the proxy's local SDS secrets ({@link LocalSecrets}): its rotating workload
   * certificate, client certificates verified against the mesh trust bundle and {@code config.clientSans()}.
   * {@code config}'s PEM sources are null.
   */
  public static ServerTls sdsServer(DownstreamTlsConfig config, io.keelson.dataplane.security.CertificateSource source,
      boolean validateClients, SslProvider provider) {
    var keys = new io.keelson.dataplane.security.RotatingKeyManager(source);
    SslContextBuilder b = SslContextBuilder.forServer(keys).sslProvider(provider);
    javax.net.ssl.TrustManager trust = null;
    if (validateClients) {
      trust = SdsTrustManager.mesh(source, config.clientSans());
      b.trustManager(trust);
      b.clientAuth(config.requireClientCert() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
    }
    return finishServer(b, config, provider, new ServerCredentials(keys, trust, config.requireClientCert()));
  }

  /**
   * A listener's TLS on SDS secrets the control plane serves ({@link ListenerSecrets}, a gateway's credentials):
   * {@code certificate}'s current certificate and key per handshake, client certificates (when {@code ca} is not
   * null) verified against {@code ca}'s current CAs and {@code config.clientSans()}. Rotating either slot needs no
   * new context. {@code config}'s PEM sources are null.
   */
  public static ServerTls listenerSdsServer(DownstreamTlsConfig config, ListenerSecret certificate, ListenerSecret ca,
      SslProvider provider) {
    var keys = new io.keelson.dataplane.security.RotatingKeyManager(certificate);
    SslContextBuilder b = SslContextBuilder.forServer(keys).sslProvider(provider);
    javax.net.ssl.TrustManager trust = null;
    if (ca != null) {
      trust = SdsTrustManager.listenerSecret(ca, config.clientSans());
      b.trustManager(trust);
      b.clientAuth(config.requireClientCert() ? ClientAuth.REQUIRE : ClientAuth.OPTIONAL);
    } else if (config.requireClientCert()) {
      throw new TlsConfigException("require_client_certificate",
          "true needs common_tls_context.validation_context_sds_secret_config to verify client certificates");
    } else if (!config.clientSans().isEmpty()) {
      throw new TlsConfigException("common_tls_context.validation_context.match_typed_subject_alt_names",
          "SAN matchers need common_tls_context.validation_context_sds_secret_config (a CA secret)");
    }
    ServerTls tls = finishServer(b, config, provider,
        new ServerCredentials(keys, trust, config.requireClientCert(), ca));
    if (ca != null) {
      ca.bindSessions(tls.context()); // a CA rotation must not let sessions verified by the old CAs resume
    }
    return tls;
  }

  /** The tail every server context shares: session cache, the ALPN protocols this process serves, tls_params. */
  private static ServerTls finishServer(SslContextBuilder b, DownstreamTlsConfig config, SslProvider provider,
      ServerCredentials credentials) {
    b.sessionCacheSize(SESSION_CACHE_SIZE).sessionTimeout(SESSION_TIMEOUT_SECONDS);
    List<String> alpn = new ArrayList<>();
    for (String p : config.params().alpn()) {
      // istio-peer-exchange: a tcp_proxy chain's metadata exchange (its filter reads it), not an HTTP protocol
      if (p.equals("http/1.1") || p.equals(io.keelson.dataplane.stats.PeerExchangeFrame.ALPN)
          || AlpnHook.current().protocols().contains(p)) {
        alpn.add(p);
      }
    }
    applyParams(b, config.params(), alpn, provider);
    return new ServerTls(config, build(b), provider, alpn, credentials);
  }

  /**
   * A cluster's TLS origination on the proxy's local SDS secrets: presents the workload certificate
   * (when {@code presentCertificate}) and verifies the server against the mesh trust bundle and
   * {@code config.serverSans()} (the destination's SPIFFE ID).
   */
  public static ClientTls sdsClient(UpstreamTlsConfig config, io.keelson.dataplane.security.CertificateSource source,
      boolean presentCertificate, SslProvider provider) {
    SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider).endpointIdentificationAlgorithm(null)
        .trustManager(SdsTrustManager.mesh(source, config.serverSans()));
    if (presentCertificate) {
      b.keyManager(new io.keelson.dataplane.security.RotatingKeyManager(source));
    }
    return withMeshHttpAlpn(config, b, provider);
  }

  /**
   * A cluster's TLS origination on SDS secrets the control plane serves ({@link ListenerSecrets}, a DestinationRule's
   * {@code credentialName}): presents {@code certificate}'s current certificate (when not null) and verifies the
   * server against {@code ca}'s current CAs and {@code config.serverSans()} (when {@code ca} is not null; else no
   * verification, as Envoy without a validation context), both read per handshake. A rotation of either slot forgets
   * the context's client sessions, so new connections handshake with the new material.
   */
  public static ClientTls servedSdsClient(UpstreamTlsConfig config, ListenerSecret certificate, ListenerSecret ca,
      SslProvider provider) {
    SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider).endpointIdentificationAlgorithm(null);
    if (ca != null) {
      b.trustManager(SdsTrustManager.listenerSecret(ca, config.serverSans()));
    } else if (!config.serverSans().isEmpty()) {
      throw new TlsConfigException("common_tls_context.validation_context.match_typed_subject_alt_names",
          "SAN matchers need common_tls_context.validation_context_sds_secret_config (a CA secret)");
    } else {
      b.trustManager(InsecureTrustManagerFactory.INSTANCE);
    }
    if (certificate != null) {
      b.keyManager(new io.keelson.dataplane.security.RotatingKeyManager(certificate));
    }
    List<ListenerSecret> served = java.util.stream.Stream.of(certificate, ca).filter(java.util.Objects::nonNull).toList();
    ClientTls tls = withMeshHttpAlpn(config, b, provider).withServedSecrets(served);
    for (ListenerSecret s : served) {
      s.forgetSessionsOnChange(tls.context());
      if (tls.http() != null) {
        s.forgetSessionsOnChange(tls.http().context()); // the in-mesh cluster's HTTP connections resume too
      }
    }
    return tls;
  }

  /**
   * The built context, and for a cluster whose ALPN offers {@value ClientTls#ISTIO_ALPN} (an in-mesh cluster) a second
   * one for its HTTP connections, offering what istiod's {@code istio.alpn} filter sets on a sidecar's HTTP requests
   * ({@link ClientTls#meshHttpAlpn}), so the destination sidecar tells HTTP from TCP by ALPN.
   */
  private static ClientTls withMeshHttpAlpn(UpstreamTlsConfig config, SslContextBuilder b, SslProvider provider) {
    List<String> alpn = config.params().alpn();
    applyParams(b, config.params(), alpn, provider);
    SslContext context = build(b);
    if (!alpn.contains(ClientTls.ISTIO_ALPN)) {
      return new ClientTls(config, context, provider);
    }
    applyParams(b, config.params(), ClientTls.meshHttpAlpn(alpn), provider);
    return new ClientTls(config, context, provider, new ClientTls(config, build(b), provider));
  }

  private static void applyParams(SslContextBuilder b, TlsParams params, List<String> alpn, SslProvider provider) {
    List<String> protocols = params.protocols();
    if (protocols.isEmpty()) {
      throw new TlsConfigException(TLS_PARAMS, "tls_minimum_protocol_version " + params.minVersion()
          + " is above tls_maximum_protocol_version " + params.maxVersion());
    }
    b.protocols(protocols);
    if (!params.cipherSuites().isEmpty()) {
      b.ciphers(params.cipherSuites(), IdentityCipherSuiteFilter.INSTANCE_DEFAULTING_TO_SUPPORTED_CIPHERS);
    }
    if (!params.ecdhCurves().isEmpty() && provider == SslProvider.OPENSSL) {
      b.option(OpenSslContextOption.GROUPS, params.ecdhCurves().toArray(new String[0]));
    }
    if (!alpn.isEmpty()) {
      b.applicationProtocolConfig(new ApplicationProtocolConfig(
          ApplicationProtocolConfig.Protocol.ALPN,
          ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
          ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
          alpn));
    }
  }

  private static SslContext build(SslContextBuilder b) {
    try {
      return b.build();
    } catch (SSLException | IllegalArgumentException e) {
      throw new TlsConfigException(TLS_PARAMS, "cannot build the TLS context: " + e.getMessage());
    }
  }
}
