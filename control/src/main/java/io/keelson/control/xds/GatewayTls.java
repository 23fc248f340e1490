package io.keelson.control.xds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Any;
import com.google.protobuf.BoolValue;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.keelson.control.policy.Policy;
import java.util.Iterator;
import java.util.Map;

/**
 * TLS termination of a gateway server ({@code tls.mode} SIMPLE or MUTUAL): a DownstreamTlsContext holding the
 * Secret's certificate and key inline (for a gateway on the plaintext xDS port, which is served no secret), ALPN h2
 * and http/1.1, {@code minProtocolVersion}; MUTUAL requires a client certificate chaining to the Secret's
 * {@code ca.crt}; ISTIO_MUTUAL ({@link #istioMutual}) the proxy's own mesh identity. {@link #redactKeys} keeps the keys out of {@code proxy-config}. A gateway on the
 * authenticated xDS port gets {@link #downstreamSds} instead: the same context naming istiod's SDS secrets
 * ({@link GatewaySecrets}), so a rotated Secret reaches it as an SDS update with no listener change. Stateless.
 */
public final class GatewayTls {
  private static final String TLS = "envoy.transport_sockets.tls";
  static final String REDACTED = "[redacted]";

  private GatewayTls() {}

  static TransportSocket downstream(Policy.ServerTls tls, Policy.Secret secret) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificates(TlsCertificate.newBuilder()
            .setCertificateChain(DataSource.newBuilder().setInlineString(secret.certChain()))
            .setPrivateKey(DataSource.newBuilder().setInlineString(secret.privateKey())));
    CertificateValidationContext ca = "MUTUAL".equals(tls.mode())
        ? CertificateValidationContext.newBuilder().setTrustedCa(DataSource.newBuilder().setInlineString(secret.caCert()))
            .build() : null;
    return socket(tls, common, ca, null);
  }

  /**
   * The server's TLS with its certificate (and MUTUAL: its client CA) named as SDS secrets over ADS,
   * {@code kubernetes://<credentialName>} (and {@code kubernetes://<credentialName>-cacert}).
   */
  static TransportSocket downstreamSds(Policy.ServerTls tls) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder()
            .setName(GatewaySecrets.certificateName(tls.credentialName())).setSdsConfig(MeshTranslator.ADS));
    SdsSecretConfig ca = "MUTUAL".equals(tls.mode()) ? SdsSecretConfig.newBuilder()
        .setName(GatewaySecrets.caName(tls.credentialName())).setSdsConfig(MeshTranslator.ADS).build() : null;
    return socket(tls, common, null, ca);
  }

  /**
   * ISTIO_MUTUAL: the gateway's own mesh certificate (SDS {@code default}) and a client certificate required to chain
   * to the mesh trust bundle (SDS {@code ROOTCA}), both resolved by the proxy from its workload identity.
   */
  static TransportSocket istioMutual(Policy.ServerTls tls) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default")
            .setSdsConfig(MeshTranslator.ADS));
    return socket(tls, common, null, SdsSecretConfig.newBuilder().setName("ROOTCA").setSdsConfig(MeshTranslator.ADS)
        .build());
  }

  private static TransportSocket socket(Policy.ServerTls tls, CommonTlsContext.Builder common,
      CertificateValidationContext inlineCa, SdsSecretConfig sdsCa) {
    common.addAllAlpnProtocols(MeshMtls.ALPN_HTTP);
    if (tls.minProtocolVersion() != null) {
      common.setTlsParams(TlsParameters.newBuilder().setTlsMinimumProtocolVersion(
          tls.minProtocolVersion().equals("TLSV1_3") ? TlsParameters.TlsProtocol.TLSv1_3 : TlsParameters.TlsProtocol.TLSv1_2));
    }
    DownstreamTlsContext.Builder d = DownstreamTlsContext.newBuilder();
    if (inlineCa != null) {
      common.setValidationContext(inlineCa);
      d.setRequireClientCertificate(BoolValue.of(true));
    } else if (sdsCa != null) {
      common.setValidationContextSdsSecretConfig(sdsCa);
      d.setRequireClientCertificate(BoolValue.of(true));
    }
    return TransportSocket.newBuilder().setName(TLS).setTypedConfig(Any.pack(d.setCommonTlsContext(common).build()))
        .build();
  }

  /** {@code json} (Envoy JSON of resources) with every {@code privateKey} replaced by {@value #REDACTED}. */
  public static JsonNode redactKeys(JsonNode json) {
    if (json instanceof ObjectNode o) {
      for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (e.getKey().equals("privateKey") || e.getKey().equals("private_key")) {
          e.setValue(o.textNode(REDACTED));
        } else {
          redactKeys(e.getValue());
        }
      }
    } else if (json != null && json.isArray()) {
      json.forEach(GatewayTls::redactKeys);
    }
    return json;
  }
}
