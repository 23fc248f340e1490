package io.keelson.control.store;

import io.keelson.control.policy.Policy;
import java.util.TreeSet;

/**
 * The Secrets behind a DestinationRule {@code tls.credentialName} (Istio's ClientTLSSettings), looked up as istiod does
 * in the namespace of the proxy that originates TLS: the Secret {@code <name>} (its {@code tls.crt}/{@code tls.key}
 * presented for MUTUAL) and the CA verifying the server, that Secret's {@code ca.crt} (or {@code cacert}) or else the
 * Secret {@code <name>-cacert}'s. Stateless.
 */
public final class OriginationCredentials {
  /** istiod's suffix of the CA's SDS name and of a separate CA Secret. */
  public static final String CA_SUFFIX = "-cacert";

  private OriginationCredentials() {}

  /** The CA PEM for {@code credential} in {@code namespace}, or null when neither Secret has one. */
  public static String ca(PolicySet state, String namespace, String credential) {
    Policy.Secret own = state.secret(namespace, credential);
    if (own != null && own.caCert() != null) {
      return own.caCert();
    }
    Policy.Secret separate = state.secret(namespace, credential + CA_SUFFIX);
    return separate == null ? null : separate.caCert();
  }

  /** Why {@code tls}'s credential is unusable by a proxy of {@code namespace}, or null when it is usable there. */
  public static String problem(PolicySet state, String namespace, Policy.ClientTls tls) {
    String name = tls.credential().name();
    Policy.Secret own = state.secret(namespace, name);
    if (tls.mutual() && (own == null || own.certChain() == null)) {
      return "mode MUTUAL needs a Secret '" + name + "' with tls.crt and tls.key in namespace " + namespace;
    }
    if (!tls.insecureSkipVerify() && ca(state, namespace, name) == null) {
      return "no CA for '" + name + "' in namespace " + namespace + " (ca.crt or cacert in Secret '" + name
          + "', or in Secret '" + name + CA_SUFFIX + "')";
    }
    return null;
  }

  /** The namespaces where {@code tls}'s credential is usable: those of the proxies that can originate with it. */
  public static TreeSet<String> usableIn(PolicySet state, Policy.ClientTls tls) {
    TreeSet<String> out = new TreeSet<>();
    for (Policy.Secret s : state.ofType(Policy.Secret.class)) {
      if (problem(state, s.namespace(), tls) == null) {
        out.add(s.namespace());
      }
    }
    return out;
  }
}
