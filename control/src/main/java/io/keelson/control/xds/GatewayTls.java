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
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsParameters;
import io.keelson.control.policy.Policy;
import java.util.Iterator;
import java.util.Map;

/**
 * TLS termination of a gateway server ({@code tls.mode} SIMPLE or MUTUAL): a DownstreamTlsContext holding the
 * Secret's certificate and key inline (the data plane's xDS client resolves SDS only for the mesh's own
 * {@code default}/{@code ROOTCA} secrets, so a gateway credential travels in the listener itself, to that gateway
 * only), ALPN h2 and http/1.1, {@code minProtocolVersion}; MUTUAL requires a client certificate chaining to the
 * Secret's {@code ca.crt}. {@link #redactKeys} keeps the keys out of {@code proxy-config}. Stateless.
 */
public final class GatewayTls {
  private static final String TLS = "envoy.transport_sockets.tls";
  static final String REDACTED = "[redacted]";

  private GatewayTls() {}

  static TransportSocket downstream(Policy.ServerTls tls, Policy.Secret secret) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificates(TlsCertificate.newBuilder()
            .setCertificateChain(DataSource.newBuilder().setInlineString(secret.certChain()))
            .setPrivateKey(DataSource.newBuilder().setInlineString(secret.privateKey())))
        .addAllAlpnProtocols(MeshMtls.ALPN_HTTP);
    if (tls.minProtocolVersion() != null) {
      common.setTlsParams(TlsParameters.newBuilder().setTlsMinimumProtocolVersion(
          tls.minProtocolVersion().equals("TLSV1_3") ? TlsParameters.TlsProtocol.TLSv1_3 : TlsParameters.TlsProtocol.TLSv1_2));
    }
    DownstreamTlsContext.Builder d = DownstreamTlsContext.newBuilder();
    if ("MUTUAL".equals(tls.mode())) {
      common.setValidationContext(CertificateValidationContext.newBuilder()
          .setTrustedCa(DataSource.newBuilder().setInlineString(secret.caCert())));
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
