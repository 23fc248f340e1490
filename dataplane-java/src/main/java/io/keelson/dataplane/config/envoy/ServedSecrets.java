package io.keelson.dataplane.config.envoy;

import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.keelson.dataplane.tls.ClientTls;
import io.keelson.dataplane.tls.DownstreamTlsConfig;
import io.keelson.dataplane.tls.ListenerSecret;
import io.keelson.dataplane.tls.ListenerSecrets;
import io.keelson.dataplane.tls.LocalSecrets;
import io.keelson.dataplane.tls.PemSource;
import io.keelson.dataplane.tls.SanMatcher;
import io.keelson.dataplane.tls.ServerTls;
import io.keelson.dataplane.tls.TlsConfigException;
import io.keelson.dataplane.tls.TlsContexts;
import io.keelson.dataplane.tls.TlsParams;
import io.keelson.dataplane.tls.TlsProvider;
import io.keelson.dataplane.tls.UpstreamTlsConfig;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * SDS secrets a listener or cluster names that the control plane serves over ADS (a gateway's
 * {@code kubernetes://<name>} and {@code kubernetes://<name>-cacert}, istiod's names), as opposed to the proxy's own
 * {@code default}/{@code ROOTCA} ({@link LocalSecrets}): which names a TLS context uses, the server and client TLS
 * built on their {@link ListenerSecret} slots, and a delivered Secret checked into its slot. Stateless; called on the xDS thread.
 */
public final class ServedSecrets {
  private ServedSecrets() {}

  private static boolean local(String name) {
    return name.equals(LocalSecrets.WORKLOAD_CERT) || name.equals(LocalSecrets.ROOT_CA);
  }

  /** True when the context names a served secret (for its certificate or its validation context). */
  static boolean named(CommonTlsContext c) {
    return !names(c).isEmpty();
  }

  /** The served (not local) secret names {@code c} references. */
  public static Set<String> names(CommonTlsContext c) {
    return new LinkedHashSet<>(configs(c).keySet());
  }

  /** The served (not local) secrets {@code c} references, by name, with where each comes from. */
  public static java.util.Map<String, SdsSecretConfig> configs(CommonTlsContext c) {
    java.util.Map<String, SdsSecretConfig> out = new java.util.LinkedHashMap<>();
    for (SdsSecretConfig s : c.getTlsCertificateSdsSecretConfigsList()) {
      if (!local(s.getName())) {
        out.put(s.getName(), s);
      }
    }
    SdsSecretConfig ca = c.hasValidationContextSdsSecretConfig() ? c.getValidationContextSdsSecretConfig()
        : c.hasCombinedValidationContext() && c.getCombinedValidationContext().hasValidationContextSdsSecretConfig()
            ? c.getCombinedValidationContext().getValidationContextSdsSecretConfig() : null;
    if (ca != null && !local(ca.getName())) {
      out.put(ca.getName(), ca);
    }
    return out;
  }

  /** The served CA secret's name, or null; a local trust bundle or an inline CA beside served secrets is an error. */
  private static String servedCaName(CommonTlsContext c) {
    String ca = caName(c);
    if (ca != null && local(ca)) {
      throw new TlsConfigException("common_tls_context.validation_context_sds_secret_config.name", "'" + ca
          + "' is this proxy's own trust bundle; with served secrets expected a served CA secret such as"
          + " kubernetes://<name>-cacert");
    }
    if (c.hasValidationContext() && c.getValidationContext().hasTrustedCa()) {
      throw new TlsConfigException("common_tls_context.validation_context.trusted_ca",
          "cannot be mixed with served secrets; expected validation_context_sds_secret_config");
    }
    return ca;
  }

  private static String caName(CommonTlsContext c) {
    return c.hasValidationContextSdsSecretConfig() ? c.getValidationContextSdsSecretConfig().getName()
        : c.hasCombinedValidationContext() && c.getCombinedValidationContext().hasValidationContextSdsSecretConfig()
            ? c.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName() : null;
  }

  /** A listener's TLS on served secrets: exactly one served certificate, an optional served validation secret. */
  static ServerTls server(DownstreamTlsContext d, TlsParams params, List<SanMatcher> sans) {
    CommonTlsContext c = d.getCommonTlsContext();
    ListenerSecrets secrets = ListenerSecrets.current();
    if (secrets == null) {
      throw new TlsConfigException("common_tls_context.tls_certificate_sds_secret_configs",
          "names SDS secrets " + names(c) + " but this configuration source serves none; expected them over ADS");
    }
    if (c.getTlsCertificatesCount() > 0 || c.getTlsCertificateSdsSecretConfigsCount() != 1
        || local(c.getTlsCertificateSdsSecretConfigs(0).getName())) {
      throw new TlsConfigException("common_tls_context.tls_certificate_sds_secret_configs", "expected exactly one"
          + " served secret (such as kubernetes://<name>) for the certificate, with no tls_certificates; got "
          + c.getTlsCertificateSdsSecretConfigsList().stream().map(SdsSecretConfig::getName).toList());
    }
    String ca = servedCaName(c);
    ListenerSecret cert = secrets.slot(c.getTlsCertificateSdsSecretConfigs(0).getName());
    ListenerSecret trust = ca == null ? null : secrets.slot(ca);
    for (ListenerSecret s : trust == null ? List.of(cert) : List.of(cert, trust)) {
      if (!secrets.delivered(s) && !secrets.givenUp(s)) { // given up: handshakes fail until it arrives, as Envoy
        throw new TlsConfigException("common_tls_context", "SDS secret '" + s.name() + "' has not arrived");
      }
    }
    DownstreamTlsConfig config = new DownstreamTlsConfig(null, null, null,
        d.hasRequireClientCertificate() && d.getRequireClientCertificate().getValue(), sans, params);
    return TlsContexts.listenerSdsServer(config, cert, trust, TlsProvider.selected());
  }

  /**
   * A cluster's TLS origination on served secrets (a DestinationRule {@code credentialName}): at most one served client
   * certificate, an optional served CA secret (none: no verification, as Envoy without a validation context). Slots
   * not delivered yet fail the handshake closed (no CA to verify with, no certificate to present) rather than hold the
   * whole configuration back: a proxy the control plane serves no such secret to still runs its other clusters.
   */
  static ClientTls client(UpstreamTlsContext u, TlsParams params, List<SanMatcher> sans) {
    CommonTlsContext c = u.getCommonTlsContext();
    ListenerSecrets secrets = ListenerSecrets.current();
    if (c.getTlsCertificatesCount() > 0 || c.getTlsCertificateSdsSecretConfigsCount() > 1
        || (c.getTlsCertificateSdsSecretConfigsCount() == 1 && local(c.getTlsCertificateSdsSecretConfigs(0).getName()))) {
      throw new TlsConfigException("common_tls_context.tls_certificate_sds_secret_configs", "expected at most one"
          + " served secret (such as kubernetes://<name>) for the client certificate, with no tls_certificates; got "
          + c.getTlsCertificateSdsSecretConfigsList().stream().map(SdsSecretConfig::getName).toList());
    }
    String ca = servedCaName(c);
    ListenerSecret cert = c.getTlsCertificateSdsSecretConfigsCount() == 1
        ? secrets.slot(c.getTlsCertificateSdsSecretConfigs(0).getName()) : null;
    ListenerSecret trust = ca == null ? null : secrets.slot(ca);
    UpstreamTlsConfig config = new UpstreamTlsConfig(u.getSni().isEmpty() ? null : u.getSni(), null, null, null, sans,
        params);
    return TlsContexts.servedSdsClient(config, cert, trust, TlsProvider.selected());
  }

  /**
   * Checks {@code secret} and swaps it into its slot.
   *
   * @throws TlsConfigException naming the Secret's field
   */
  public static void deliver(ListenerSecrets secrets, Secret secret) {
    deliver(secrets, secret, false);
  }

  /**
   * Checks {@code secret} and swaps it into its slot, or ({@code stage}) only stages it for the translation in
   * progress ({@link ListenerSecrets#stage}).
   *
   * @throws TlsConfigException naming the Secret's field
   */
  public static void deliver(ListenerSecrets secrets, Secret secret, boolean stage) {
    switch (secret.getTypeCase()) {
      case TLS_CERTIFICATE -> {
        PemSource chain = pem(secret.getTlsCertificate().getCertificateChain(), "tls_certificate.certificate_chain");
        PemSource key = pem(secret.getTlsCertificate().getPrivateKey(), "tls_certificate.private_key");
        if (stage) {
          secrets.stage(secret.getName(), chain, key, null);
        } else {
          secrets.updateCertificate(secret.getName(), chain, key);
        }
      }
      case VALIDATION_CONTEXT -> {
        PemSource ca = pem(secret.getValidationContext().getTrustedCa(), "validation_context.trusted_ca");
        if (stage) {
          secrets.stage(secret.getName(), null, null, ca);
        } else {
          secrets.updateCa(secret.getName(), ca);
        }
      }
      default -> throw new TlsConfigException("type", "is " + secret.getTypeCase()
          + "; expected tls_certificate or validation_context");
    }
  }

  private static PemSource pem(io.envoyproxy.envoy.config.core.v3.DataSource ds, String field) {
    return switch (ds.getSpecifierCase()) {
      case INLINE_STRING -> PemSource.inline(ds.getInlineString());
      case INLINE_BYTES -> PemSource.inline(ds.getInlineBytes().toStringUtf8());
      default -> throw new TlsConfigException(field, "is required inline (inline_string or inline_bytes) in an SDS"
          + " secret; got " + ds.getSpecifierCase());
    };
  }
}
