package io.keelson.control.xds;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A gateway proxy's credentials over SDS, named as istiod names them: a server's {@code credentialName} (a
 * kubernetes.io/tls Secret of the Gateway's namespace) is the SDS secret {@code kubernetes://<name>} (certificate
 * and key), and for {@code tls.mode: MUTUAL} also {@code kubernetes://<name>-cacert} (the Secret's {@code ca.crt}).
 * Only the Secrets the Gateways selecting that proxy reference: another proxy asking for them gets nothing. When two
 * Gateways of different namespaces name the same credential, the first Gateway (by namespace/name) wins. Stateless.
 */
final class GatewaySecrets {
  static final String PREFIX = "kubernetes://";
  static final String CA_SUFFIX = "-cacert";

  /** A proxy's secrets and their version (a content digest). */
  record ForProxy(List<Secret> secrets, String version) {
    static final ForProxy NONE = new ForProxy(List.of(), "");
  }

  private GatewaySecrets() {}

  /** SDS name of a server's certificate. */
  static String certificateName(String credentialName) {
    return PREFIX + credentialName;
  }

  /** SDS name of a MUTUAL server's client CA. */
  static String caName(String credentialName) {
    return PREFIX + credentialName + CA_SUFFIX;
  }

  /** The secrets of the SIMPLE/MUTUAL servers of the Gateways selecting {@code labels}, sorted by name. */
  static ForProxy forGateway(PolicySet state, Map<String, String> labels) {
    Map<String, Secret> byName = new TreeMap<>();
    List<Policy.Gateway> gateways = new ArrayList<>(state.ofType(Policy.Gateway.class));
    gateways.sort(java.util.Comparator.comparing(Policy.Gateway::ref));
    for (Policy.Gateway g : gateways) {
      if (g.selector().isEmpty() || !MeshTranslator.matches(g.selector(), labels)) {
        continue;
      }
      for (Policy.Server s : g.servers()) {
        Policy.ServerTls tls = s.tls();
        if (tls == null || tls.credentialName() == null || tls.passthrough()) {
          continue;
        }
        Policy.Secret secret = state.secret(g.namespace(), tls.credentialName());
        if (secret == null) {
          continue;
        }
        byName.putIfAbsent(certificateName(tls.credentialName()), Secret.newBuilder()
            .setName(certificateName(tls.credentialName()))
            .setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString(secret.certChain()))
                .setPrivateKey(DataSource.newBuilder().setInlineString(secret.privateKey())))
            .build());
        if ("MUTUAL".equals(tls.mode()) && secret.caCert() != null) {
          byName.putIfAbsent(caName(tls.credentialName()), Secret.newBuilder().setName(caName(tls.credentialName()))
              .setValidationContext(CertificateValidationContext.newBuilder()
                  .setTrustedCa(DataSource.newBuilder().setInlineString(secret.caCert())))
              .build());
        }
      }
    }
    if (byName.isEmpty()) {
      return ForProxy.NONE;
    }
    List<Secret> secrets = List.copyOf(byName.values());
    return new ForProxy(secrets, Integer.toHexString(secrets.hashCode()));
  }
}
