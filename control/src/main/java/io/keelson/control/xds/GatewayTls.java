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
import io.keelson.control.store.PolicySet;
import java.util.Iterator;
import java.util.Map;

/**
 * TLS termination of a gateway server ({@code tls.mode} SIMPLE or MUTUAL): a DownstreamTlsContext naming istiod's SDS
 * secrets ({@link #downstreamSds}, {@link GatewaySecrets}: the certificate and key, and MUTUAL's client CA from the
 * Secret's {@code ca.crt}), so a rotated Secret reaches the gateway as an SDS update with no listener change; ALPN h2
 * and http/1.1, {@code minProtocolVersion}; ISTIO_MUTUAL ({@link #istioMutual}) the proxy's own mesh identity. Secrets
 * go only to gateways on the authenticated xDS port, never inline over the plaintext one. {@link #redactKeys} keeps
 * any key out of {@code proxy-config}. {@link #forServer}
 * is the one place that chooses among these for a server. Stateless.
 */
public final class GatewayTls {
  private static final String TLS = "envoy.transport_sockets.tls";
  static final String REDACTED = "[redacted]";

  private GatewayTls() {}

  /**
   * The server's TLS with its certificate (and MUTUAL: its client CA) named as SDS secrets over ADS,
   * {@code kubernetes://<namespace>/<name>} (and {@code ...-cacert}), {@link GatewaySecrets}' names.
   */
  static TransportSocket downstreamSds(Policy.Gateway g, Policy.ServerTls tls) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder()
            .setName(GatewaySecrets.certificateName(g, tls.credentialName())).setSdsConfig(MeshTranslator.ADS));
    SdsSecretConfig ca = "MUTUAL".equals(tls.mode()) ? SdsSecretConfig.newBuilder()
        .setName(GatewaySecrets.caName(g, tls.credentialName())).setSdsConfig(MeshTranslator.ADS).build() : null;
    return socket(tls, common, ca);
  }

  /** A terminating server's transport socket, or (socket null) why it gets no filter chain, for the proxy's status. */
  record ServerSocket(TransportSocket socket, String skipped) {}

  /**
   * The one choice of a terminating server's transport socket: ISTIO_MUTUAL needs the gateway's mesh identity;
   * otherwise the Secret must exist and be readable by the gateway's join token namespace
   * ({@link GatewaySecrets#readable}), over SDS; a gateway on the plaintext xDS port (no token) is served no Secret.
   *
   * @param sdsNamespace the namespace of the gateway's join token (SDS references), or null (plaintext port: refused)
   * @param identity the gateway has a SPIFFE ID
   */
  static ServerSocket forServer(PolicySet state, Policy.Gateway g, Policy.Server s, String sdsNamespace,
      boolean identity) {
    Policy.ServerTls tls = s.tls();
    String where = "Gateway " + g.ref() + " server " + s.index() + " (port " + s.port() + ")";
    if (tls.istioMutual()) {
      return identity ? new ServerSocket(istioMutual(tls), null) : new ServerSocket(null, where
          + ": tls.mode ISTIO_MUTUAL needs the gateway's mesh identity and this gateway has no SPIFFE ID; connect it"
          + " with a join token on the authenticated xDS port, or use SIMPLE/MUTUAL with a credentialName");
    }
    Policy.Secret secret = state.secret(g.namespace(), tls.credentialName());
    if (secret == null) {
      // References refuses a Gateway whose Secret is missing; a deleted Secret takes only its chain away
      return new ServerSocket(null, where + ": Secret " + tls.credentialName() + " not found");
    }
    if (sdsNamespace == null) {
      // The plaintext port authenticates nobody: whoever claims a gateway's labels there would get the private key.
      return new ServerSocket(null, where + ": Secret " + tls.credentialName() + " is not served over the plaintext"
          + " xDS port (it authenticates nobody); connect the gateway with a join token on the authenticated xDS port");
    }
    if (!GatewaySecrets.readable(state, g, tls.credentialName(), sdsNamespace)) {
      return new ServerSocket(null, where + ": Secret " + GatewaySecrets.secretNamespace(g, tls.credentialName())
          + "/" + tls.credentialName().substring(tls.credentialName().indexOf('/') + 1) + " is not served to this"
          + " gateway: its join token is of namespace " + sdsNamespace + "; a gateway is served a Secret of its"
          + " own namespace only (or one its Gateway's certificateRef reaches through a ReferenceGrant)");
    }
    return new ServerSocket(downstreamSds(g, tls), null);
  }

  /**
   * ISTIO_MUTUAL: the gateway's own mesh certificate (SDS {@code default}) and a client certificate required to chain
   * to the mesh trust bundle (SDS {@code ROOTCA}), both resolved by the proxy from its workload identity.
   */
  static TransportSocket istioMutual(Policy.ServerTls tls) {
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder()
        .addTlsCertificateSdsSecretConfigs(SdsSecretConfig.newBuilder().setName("default")
            .setSdsConfig(MeshTranslator.ADS));
    return socket(tls, common, SdsSecretConfig.newBuilder().setName("ROOTCA").setSdsConfig(MeshTranslator.ADS)
        .build());
  }

  private static TransportSocket socket(Policy.ServerTls tls, CommonTlsContext.Builder common, SdsSecretConfig sdsCa) {
    common.addAllAlpnProtocols(MeshMtls.ALPN_HTTP);
    if (tls.minProtocolVersion() != null) {
      common.setTlsParams(TlsParameters.newBuilder().setTlsMinimumProtocolVersion(
          tls.minProtocolVersion().equals("TLSV1_3") ? TlsParameters.TlsProtocol.TLSv1_3 : TlsParameters.TlsProtocol.TLSv1_2));
    }
    DownstreamTlsContext.Builder d = DownstreamTlsContext.newBuilder();
    if (sdsCa != null) {
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
