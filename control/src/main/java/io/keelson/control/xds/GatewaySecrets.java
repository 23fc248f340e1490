package io.keelson.control.xds;

import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.PolicySet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A gateway proxy's credentials over SDS, named as istiod names them with the namespace always spelled out: a server's
 * {@code credentialName} (a kubernetes.io/tls Secret of the Gateway's namespace, or {@code NS/NAME} from a Gateway API
 * {@code certificateRef} to namespace NS) is the SDS secret {@code kubernetes://<namespace>/<name>} (certificate and
 * key), and for {@code tls.mode: MUTUAL} also {@code kubernetes://<namespace>/<name>-cacert} (the Secret's
 * {@code ca.crt}). Two Gateways of different namespaces naming the same credential therefore name two secrets.
 *
 * <p>Who is served a Secret ({@link #readable}), istiod's rule: only a gateway on the authenticated xDS port, and only
 * when the namespace of its join token (the one its SPIFFE ID is bound to) is the Secret's namespace, or is the
 * namespace of a Gateway whose {@code certificateRef} to the Secret a ReferenceGrant permits. The gateway labels a
 * proxy announces only select the Gateways; they never grant a Secret. Stateless.
 */
final class GatewaySecrets {
  static final String PREFIX = "kubernetes://";
  static final String CA_SUFFIX = "-cacert";

  /** A proxy's secrets and their version (a content digest). */
  record ForProxy(List<Secret> secrets, String version) {
    static final ForProxy NONE = new ForProxy(List.of(), "");
  }

  private GatewaySecrets() {}

  /** The Secret's namespace: NS of a {@code NS/NAME} credential, else the Gateway's. */
  static String secretNamespace(Policy.Gateway g, String credentialName) {
    int slash = credentialName.indexOf('/');
    return slash > 0 ? credentialName.substring(0, slash) : g.namespace();
  }

  private static String secretName(String credentialName) {
    return credentialName.substring(credentialName.indexOf('/') + 1);
  }

  /** SDS name of a server's certificate, {@code kubernetes://<namespace>/<name>}. */
  static String certificateName(Policy.Gateway g, String credentialName) {
    return PREFIX + secretNamespace(g, credentialName) + "/" + secretName(credentialName);
  }

  /** SDS name of a MUTUAL server's client CA. */
  static String caName(Policy.Gateway g, String credentialName) {
    return certificateName(g, credentialName) + CA_SUFFIX;
  }

  /**
   * True when a gateway whose join token is of {@code proxyNamespace} may be served the Secret {@code g}'s server
   * names: the Secret is in that namespace, or {@code g} is and a ReferenceGrant permits its reference to the Secret.
   */
  static boolean readable(PolicySet state, Policy.Gateway g, String credentialName, String proxyNamespace) {
    String ns = secretNamespace(g, credentialName);
    if (ns.equals(proxyNamespace)) {
      return true;
    }
    if (!g.namespace().equals(proxyNamespace) || credentialName.indexOf('/') <= 0) {
      return false;
    }
    var ref = new Policy.CrossReference("certificateRefs", "", "Secret", ns, secretName(credentialName));
    return state.ofType(Policy.ReferenceGrant.class).stream().anyMatch(r -> r.permits("Gateway", g.namespace(), ref));
  }

  /**
   * The secrets of the SIMPLE/MUTUAL servers of the Gateways selecting {@code labels} that a gateway of
   * {@code proxyNamespace} (its join token's) may read ({@link #readable}), and the DestinationRule credentials of
   * that namespace ({@link GatewayOrigination#secrets}), sorted by name.
   */
  static ForProxy forGateway(PolicySet state, Map<String, String> labels, String proxyNamespace) {
    Map<String, Secret> byName = new TreeMap<>(GatewayOrigination.secrets(state, proxyNamespace));
    for (Policy.Gateway g : state.ofType(Policy.Gateway.class)) {
      if (g.selector().isEmpty() || !MeshTranslator.matches(g.selector(), labels)) {
        continue;
      }
      for (Policy.Server s : g.servers()) {
        Policy.ServerTls tls = s.tls();
        if (tls == null || tls.credentialName() == null || tls.passthrough() || tls.istioMutual()
            || !readable(state, g, tls.credentialName(), proxyNamespace)) {
          continue;
        }
        Policy.Secret secret = state.secret(g.namespace(), tls.credentialName());
        if (secret == null) {
          continue;
        }
        String name = certificateName(g, tls.credentialName());
        byName.put(name, Secret.newBuilder().setName(name)
            .setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString(secret.certChain()))
                .setPrivateKey(DataSource.newBuilder().setInlineString(secret.privateKey())))
            .build());
        if ("MUTUAL".equals(tls.mode()) && secret.caCert() != null) {
          byName.put(caName(g, tls.credentialName()), Secret.newBuilder().setName(caName(g, tls.credentialName()))
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
