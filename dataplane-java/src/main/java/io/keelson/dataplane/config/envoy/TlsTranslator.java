package io.keelson.dataplane.config.envoy;

import com.google.protobuf.InvalidProtocolBufferException;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext;
import io.envoyproxy.envoy.type.matcher.v3.StringMatcher;
import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.tls.ClientTls;
import io.keelson.dataplane.tls.LocalSecrets;
import io.keelson.dataplane.tls.TlsProvider;
import io.keelson.dataplane.tls.DownstreamTlsConfig;
import io.keelson.dataplane.tls.PemSource;
import io.keelson.dataplane.tls.SanMatcher;
import io.keelson.dataplane.tls.ServerTls;
import io.keelson.dataplane.tls.TlsConfigException;
import io.keelson.dataplane.tls.TlsContexts;
import io.keelson.dataplane.tls.TlsParams;
import io.keelson.dataplane.tls.UpstreamTlsConfig;
import java.util.ArrayList;
import java.util.List;

/**
 * Translates a transport_socket {@code envoy.transport_sockets.tls} into a built TLS context, so a
 * missing file, bad PEM or a key that does not match its certificate fails at load time, naming the
 * listener or cluster and the field. Used by one thread.
 */
final class TlsTranslator {
  static final String DOWNSTREAM = DownstreamTlsContext.getDescriptor().getFullName();
  static final String UPSTREAM = UpstreamTlsContext.getDescriptor().getFullName();
  static final String QUIC_DOWNSTREAM =
      io.envoyproxy.envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport.getDescriptor().getFullName();

  private final Problems problems;

  TlsTranslator(Problems problems) {
    this.problems = problems;
  }

  /** A listener's TLS termination, or null after reporting a problem. */
  ServerTls downstream(TransportSocket socket, String path, String owner) {
    String at = path + ".typed_config";
    DownstreamTlsContext d;
    try {
      if (!SupportedTypes.typeName(socket.getTypedConfig().getTypeUrl()).equals(DOWNSTREAM)) {
        problems.error(at, owner + ": transport socket type " + socket.getTypedConfig().getTypeUrl()
            + " is not supported; expected " + DOWNSTREAM);
        return null;
      }
      d = socket.getTypedConfig().unpack(DownstreamTlsContext.class);
    } catch (InvalidProtocolBufferException e) {
      problems.error(at, owner + ": cannot read " + DOWNSTREAM + ": " + e.getMessage());
      return null;
    }
    return downstream(d, at, owner);
  }

  /**
   * A QUIC listener's TLS: the {@code downstream_tls_context} of its {@code envoy.transport_sockets.quic}
   * (QuicDownstreamTransport), certificates inline, from files or over SDS as a TCP listener's; null after reporting
   * a problem. Its context is built for QUIC from the result's credentials ({@code QuicServerTls}).
   */
  ServerTls downstreamQuic(TransportSocket socket, String path, String owner) {
    String at = path + ".typed_config";
    io.envoyproxy.envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport q;
    try {
      if (!SupportedTypes.typeName(socket.getTypedConfig().getTypeUrl()).equals(QUIC_DOWNSTREAM)) {
        problems.error(at, owner + ": transport socket type " + socket.getTypedConfig().getTypeUrl()
            + " is not supported on a QUIC listener; expected " + QUIC_DOWNSTREAM);
        return null;
      }
      q = socket.getTypedConfig().unpack(io.envoyproxy.envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport.class);
    } catch (InvalidProtocolBufferException e) {
      problems.error(at, owner + ": cannot read " + QUIC_DOWNSTREAM + ": " + e.getMessage());
      return null;
    }
    if (!q.hasDownstreamTlsContext()) {
      problems.error(at + ".downstream_tls_context", owner + ": a QUIC listener needs a certificate; expected a"
          + " DownstreamTlsContext");
      return null;
    }
    return downstream(q.getDownstreamTlsContext(), at + ".downstream_tls_context", owner);
  }

  private ServerTls downstream(DownstreamTlsContext d, String at, String owner) {
    CommonTlsContext common = d.getCommonTlsContext();
    if (ServedSecrets.named(common) && io.keelson.dataplane.tls.ListenerSecrets.current() != null) {
      // Over ADS: secrets the control plane serves (a gateway's credentials); a static file has none to name.
      try {
        return ServedSecrets.server(d, params(common), sans(validation(common)));
      } catch (TlsConfigException e) {
        problems.error(at + "." + e.field(), owner + ": " + e.getMessage());
        return null;
      }
    }
    if (usesSds(common)) {
      try {
        CertificateSource source = sdsSource(common, true);
        DownstreamTlsConfig config = new DownstreamTlsConfig(null, null, null,
            d.hasRequireClientCertificate() && d.getRequireClientCertificate().getValue(),
            sans(validation(common)), params(common));
        return TlsContexts.sdsServer(config, source, sdsRoot(common), TlsProvider.selected());
      } catch (TlsConfigException e) {
        problems.error(at + "." + e.field(), owner + ": " + e.getMessage());
        return null;
      }
    }
    if (common.getTlsCertificatesCount() != 1) {
      problems.error(at + ".common_tls_context.tls_certificates", owner + ": has " + common.getTlsCertificatesCount()
          + " certificates; expected exactly one");
      return null;
    }
    try {
      TlsCertificate cert = common.getTlsCertificates(0);
      CertificateValidationContext v = common.getValidationContext();
      DownstreamTlsConfig config = new DownstreamTlsConfig(
          pem(cert.getCertificateChain(), "common_tls_context.tls_certificates[0].certificate_chain"),
          pem(cert.getPrivateKey(), "common_tls_context.tls_certificates[0].private_key"),
          common.hasValidationContext() && v.hasTrustedCa()
              ? pem(v.getTrustedCa(), "common_tls_context.validation_context.trusted_ca") : null,
          d.hasRequireClientCertificate() && d.getRequireClientCertificate().getValue(),
          sans(v),
          params(common));
      return TlsContexts.server(config);
    } catch (TlsConfigException e) {
      problems.error(at + "." + e.field(), owner + ": " + e.getMessage());
      return null;
    }
  }

  /** A cluster's TLS origination, or null after reporting a problem. */
  ClientTls upstream(TransportSocket socket, String path, String owner) {
    return upstream(socket, path, owner, false);
  }

  /**
   * A cluster's TLS origination, or null after reporting a problem. For an HTTP/2 cluster ALPN offers
   * {@code h2} (set when alpn_protocols is empty; alpn_protocols without h2 is an error).
   */
  ClientTls upstream(TransportSocket socket, String path, String owner, boolean http2) {
    String at = path + ".typed_config";
    UpstreamTlsContext u;
    try {
      if (!SupportedTypes.typeName(socket.getTypedConfig().getTypeUrl()).equals(UPSTREAM)) {
        problems.error(at, owner + ": transport socket type " + socket.getTypedConfig().getTypeUrl()
            + " is not supported; expected " + UPSTREAM);
        return null;
      }
      u = socket.getTypedConfig().unpack(UpstreamTlsContext.class);
    } catch (InvalidProtocolBufferException e) {
      problems.error(at, owner + ": cannot read " + UPSTREAM + ": " + e.getMessage());
      return null;
    }
    CommonTlsContext common = u.getCommonTlsContext();
    if (ServedSecrets.named(common) && io.keelson.dataplane.tls.ListenerSecrets.current() != null) {
      // Over ADS: a DestinationRule credentialName's secrets, which the control plane serves (or not) to this proxy.
      try {
        return ServedSecrets.client(u, http2 ? h2Params(params(common)) : params(common), sans(validation(common)));
      } catch (TlsConfigException e) {
        problems.error(at + "." + e.field(), owner + ": " + e.getMessage());
        return null;
      }
    }
    if (usesSds(common)) {
      try {
        CertificateSource source = sdsSource(common, false);
        UpstreamTlsConfig config = new UpstreamTlsConfig(u.getSni().isEmpty() ? null : u.getSni(), null, null, null,
            sans(validation(common)), http2 ? h2Params(params(common)) : params(common));
        return TlsContexts.sdsClient(config, source, common.getTlsCertificateSdsSecretConfigsCount() == 1,
            TlsProvider.selected());
      } catch (TlsConfigException e) {
        problems.error(at + "." + e.field(), owner + ": " + e.getMessage());
        return null;
      }
    }
    if (common.getTlsCertificatesCount() > 1) {
      problems.error(at + ".common_tls_context.tls_certificates", owner + ": has " + common.getTlsCertificatesCount()
          + " certificates; expected at most one");
      return null;
    }
    try {
      TlsCertificate cert = common.getTlsCertificatesCount() == 1 ? common.getTlsCertificates(0) : null;
      CertificateValidationContext v = common.getValidationContext();
      UpstreamTlsConfig config = new UpstreamTlsConfig(
          u.getSni().isEmpty() ? null : u.getSni(),
          cert == null ? null : pem(cert.getCertificateChain(), "common_tls_context.tls_certificates[0].certificate_chain"),
          cert == null ? null : pem(cert.getPrivateKey(), "common_tls_context.tls_certificates[0].private_key"),
          common.hasValidationContext() && v.hasTrustedCa()
              ? pem(v.getTrustedCa(), "common_tls_context.validation_context.trusted_ca") : null,
          sans(v),
          http2 ? h2Params(params(common)) : params(common));
      return TlsContexts.client(config);
    } catch (TlsConfigException e) {
      problems.error(at + "." + e.field(), owner + ": " + e.getMessage());
      return null;
    }
  }

  private static io.keelson.dataplane.tls.TlsParams h2Params(io.keelson.dataplane.tls.TlsParams p) {
    if (p.alpn().isEmpty()) {
      return new io.keelson.dataplane.tls.TlsParams(p.minVersion(), p.maxVersion(), p.cipherSuites(), p.ecdhCurves(),
          java.util.List.of("h2"));
    }
    if (!p.alpn().contains("h2")) {
      throw new TlsConfigException("common_tls_context.alpn_protocols",
          "the cluster speaks HTTP/2 upstream but alpn_protocols " + p.alpn() + " lacks h2; add h2 or leave it empty");
    }
    return p;
  }

  private static PemSource pem(DataSource ds, String field) {
    return switch (ds.getSpecifierCase()) {
      case FILENAME -> PemSource.file(ds.getFilename());
      case INLINE_STRING -> PemSource.inline(ds.getInlineString());
      case INLINE_BYTES -> PemSource.inline(ds.getInlineBytes().toStringUtf8());
      default -> throw new TlsConfigException(field, "is required; expected filename, inline_string or inline_bytes");
    };
  }

  static TlsParams params(CommonTlsContext common) {
    TlsParameters p = common.getTlsParams();
    return new TlsParams(version(p.getTlsMinimumProtocolVersion(), "tls_minimum_protocol_version"),
        version(p.getTlsMaximumProtocolVersion(), "tls_maximum_protocol_version"),
        p.getCipherSuitesList(), p.getEcdhCurvesList(), common.getAlpnProtocolsList());
  }

  private static String version(TlsParameters.TlsProtocol v, String field) {
    return switch (v) {
      case TLS_AUTO -> null;
      case TLSv1_0 -> "TLSv1";
      case TLSv1_1 -> "TLSv1.1";
      case TLSv1_2 -> "TLSv1.2";
      case TLSv1_3 -> "TLSv1.3";
      default -> throw new TlsConfigException("common_tls_context.tls_params." + field, v + " is not a TLS version");
    };
  }

  static List<SanMatcher> sans(CertificateValidationContext v) {
    List<SanMatcher> out = new ArrayList<>();
    String base = "common_tls_context.validation_context.";
    for (int i = 0; i < v.getMatchTypedSubjectAltNamesCount(); i++) {
      SubjectAltNameMatcher m = v.getMatchTypedSubjectAltNames(i);
      SanMatcher.Type type = switch (m.getSanType()) {
        case DNS -> SanMatcher.Type.DNS;
        case URI -> SanMatcher.Type.URI;
        case EMAIL -> SanMatcher.Type.EMAIL;
        case IP_ADDRESS -> SanMatcher.Type.IP_ADDRESS;
        default -> throw new TlsConfigException(base + "match_typed_subject_alt_names[" + i + "].san_type",
            m.getSanType() + " is not supported; expected DNS, URI, EMAIL or IP_ADDRESS");
      };
      out.add(san(type, m.getMatcher(), base + "match_typed_subject_alt_names[" + i + "].matcher"));
    }
    for (int i = 0; i < v.getMatchSubjectAltNamesCount(); i++) {
      out.add(san(SanMatcher.Type.ANY, v.getMatchSubjectAltNames(i), base + "match_subject_alt_names[" + i + "]"));
    }
    return out;
  }

  private static SanMatcher san(SanMatcher.Type type, StringMatcher m, String field) {
    try {
      return switch (m.getMatchPatternCase()) {
        case EXACT -> new SanMatcher(type, SanMatcher.Kind.EXACT, m.getExact(), m.getIgnoreCase());
        case PREFIX -> new SanMatcher(type, SanMatcher.Kind.PREFIX, m.getPrefix(), m.getIgnoreCase());
        case SUFFIX -> new SanMatcher(type, SanMatcher.Kind.SUFFIX, m.getSuffix(), m.getIgnoreCase());
        case CONTAINS -> new SanMatcher(type, SanMatcher.Kind.CONTAINS, m.getContains(), m.getIgnoreCase());
        case SAFE_REGEX -> new SanMatcher(type, SanMatcher.Kind.REGEX, m.getSafeRegex().getRegex(), false);
        default -> throw new TlsConfigException(field, "a string matcher is required (exact, prefix, suffix, contains, safe_regex)");
      };
    } catch (java.util.regex.PatternSyntaxException e) {
      throw new TlsConfigException(field + ".safe_regex.regex", "invalid regex: " + e.getDescription());
    }
  }

  // --- SDS secret references, resolved locally (LocalSecrets): "default" = workload cert, "ROOTCA" = bundle ---

  private static boolean sdsRoot(CommonTlsContext c) {
    return c.hasValidationContextSdsSecretConfig()
        || (c.hasCombinedValidationContext() && c.getCombinedValidationContext().hasValidationContextSdsSecretConfig());
  }

  private static boolean usesSds(CommonTlsContext c) {
    return c.getTlsCertificateSdsSecretConfigsCount() > 0 || sdsRoot(c) || c.hasCombinedValidationContext();
  }

  /** The validation context whose SAN matchers apply: the combined one's default, or the plain one. */
  static CertificateValidationContext validation(CommonTlsContext c) {
    return c.hasCombinedValidationContext() ? c.getCombinedValidationContext().getDefaultValidationContext()
        : c.getValidationContext();
  }

  /** Checks the secret names and shapes; the proxy's local identity, or a TlsConfigException. */
  private static CertificateSource sdsSource(CommonTlsContext c, boolean server) {
    String cv = "common_tls_context.combined_validation_context";
    if (c.getTlsCertificatesCount() > 0 && c.getTlsCertificateSdsSecretConfigsCount() > 0) {
      throw new TlsConfigException("common_tls_context.tls_certificates",
          "cannot be used with tls_certificate_sds_secret_configs; expected one or the other");
    }
    if (c.getTlsCertificateSdsSecretConfigsCount() > 1) {
      throw new TlsConfigException("common_tls_context.tls_certificate_sds_secret_configs",
          "has " + c.getTlsCertificateSdsSecretConfigsCount() + " secrets; expected one named '"
              + LocalSecrets.WORKLOAD_CERT + "'");
    }
    if (c.getTlsCertificateSdsSecretConfigsCount() == 1
        && !c.getTlsCertificateSdsSecretConfigs(0).getName().equals(LocalSecrets.WORKLOAD_CERT)) {
      throw new TlsConfigException("common_tls_context.tls_certificate_sds_secret_configs[0].name", "'"
          + c.getTlsCertificateSdsSecretConfigs(0).getName() + "' is not a secret this proxy has; expected '"
          + LocalSecrets.WORKLOAD_CERT + "' (its workload certificate)");
    }
    if (server && c.getTlsCertificateSdsSecretConfigsCount() == 0) {
      throw new TlsConfigException("common_tls_context.tls_certificate_sds_secret_configs",
          "is required with SDS validation; expected the secret '" + LocalSecrets.WORKLOAD_CERT + "'");
    }
    if (c.hasCombinedValidationContext() && c.hasValidationContext()) {
      throw new TlsConfigException(cv, "cannot be used with validation_context; expected one or the other");
    }
    if (c.hasCombinedValidationContext() && !c.getCombinedValidationContext().hasValidationContextSdsSecretConfig()) {
      throw new TlsConfigException(cv + ".validation_context_sds_secret_config", "is required; expected the secret '"
          + LocalSecrets.ROOT_CA + "'");
    }
    if (c.hasCombinedValidationContext() && c.getCombinedValidationContext().getDefaultValidationContext().hasTrustedCa()) {
      throw new TlsConfigException(cv + ".default_validation_context.trusted_ca",
          "comes from the secret '" + LocalSecrets.ROOT_CA + "'; expected only SAN matchers here");
    }
    String rootName = c.hasValidationContextSdsSecretConfig() ? c.getValidationContextSdsSecretConfig().getName()
        : c.hasCombinedValidationContext() ? c.getCombinedValidationContext().getValidationContextSdsSecretConfig().getName()
        : null;
    if (rootName != null && !rootName.equals(LocalSecrets.ROOT_CA)) {
      throw new TlsConfigException(c.hasValidationContextSdsSecretConfig() ? "common_tls_context.validation_context_sds_secret_config.name"
          : cv + ".validation_context_sds_secret_config.name", "'" + rootName
          + "' is not a secret this proxy has; expected '" + LocalSecrets.ROOT_CA + "' (the mesh trust bundle)");
    }
    if (rootName == null) {
      if (server) {
        if (c.hasValidationContext()) {
          throw new TlsConfigException("common_tls_context.validation_context",
              "cannot be mixed with the SDS workload certificate; expected validation_context_sds_secret_config '"
                  + LocalSecrets.ROOT_CA + "'");
        }
      } else {
        throw new TlsConfigException("common_tls_context.validation_context_sds_secret_config",
            "is required with an SDS client certificate; expected the secret '" + LocalSecrets.ROOT_CA + "'");
      }
    }
    CertificateSource source = LocalSecrets.current();
    if (source == null) {
      throw new TlsConfigException(c.getTlsCertificateSdsSecretConfigsCount() > 0
          ? "common_tls_context.tls_certificate_sds_secret_configs[0]" : "common_tls_context.validation_context_sds_secret_config",
          "SDS secrets are resolved from this proxy's workload identity and it has none; expected a sidecar started"
              + " with a join token (--token-file)");
    }
    return source;
  }
}
