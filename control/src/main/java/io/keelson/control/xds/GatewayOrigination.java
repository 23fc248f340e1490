package io.keelson.control.xds;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.DataSource;
import io.envoyproxy.envoy.config.core.v3.TransportSocket;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CertificateValidationContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.CommonTlsContext;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SdsSecretConfig;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.TlsCertificate;
import io.keelson.control.policy.Policy;
import io.keelson.control.store.OriginationCredentials;
import io.keelson.control.store.PolicySet;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * TLS origination with a DestinationRule's {@code tls.credentialName}, as istiod builds it for gateways (egress TLS
 * origination): the ServiceEntry host's clusters get an UpstreamTlsContext naming the SDS secrets
 * {@code kubernetes://<name>} (the client certificate, mode MUTUAL) and {@code kubernetes://<name>-cacert} (the CA,
 * unless {@code insecureSkipVerify}) over ADS, with the SANs of a file-based rule. The names carry no namespace: each
 * gateway is served the Secret of its own join token's namespace ({@link #secrets}), so one cluster fits every gateway
 * and a rotated Secret is an SDS update only. Sidecars get these clusters without TLS, as istiod's do for a rule
 * without a workloadSelector ({@link ServiceEntryTranslator}). Stateless.
 */
final class GatewayOrigination {
  static final String PREFIX = GatewaySecrets.PREFIX;

  private GatewayOrigination() {}

  /** A cluster of an entry host whose policy names a credential, and the DestinationRule that does. */
  private record Use(String cluster, String host, Policy.DestinationRule policy, String rule) {}

  /** Every cluster of a ServiceEntry host, with its policy, whose {@code tls} names a credentialName. */
  private static List<Use> uses(PolicySet state) {
    List<Use> out = new ArrayList<>();
    for (var e : io.keelson.control.store.ServiceEntries.byHost(state).entrySet()) {
      Policy.DestinationRule dr = MeshTranslator.destinationRule(state, e.getKey());
      if (dr == null || e.getValue().resolution() == Policy.Resolution.NONE) {
        continue;
      }
      for (Policy.EntryPort port : e.getValue().ports()) {
        if (port.protocol() == Policy.Protocol.TLS) {
          continue; // the app speaks TLS itself
        }
        List<String> subsets = new ArrayList<>();
        subsets.add(null);
        dr.subsets().forEach(s -> subsets.add(s.name()));
        for (String subset : subsets) {
          Policy.DestinationRule policy = dr.forCluster(subset, port.number());
          if (policy.tls() != null && policy.tls().credential() != null) {
            out.add(new Use(ClusterNames.serviceEntryCluster(port.number(), subset, e.getKey()), e.getKey(), policy,
                dr.meta().key()));
          }
        }
      }
    }
    return out;
  }

  /** {@code clusters} with the credential clusters' TLS set (the same list when no rule names a credential). */
  static List<Cluster> clusters(PolicySet state, List<Cluster> clusters) {
    Map<String, Use> byName = new LinkedHashMap<>();
    uses(state).forEach(u -> byName.put(u.cluster(), u));
    if (byName.isEmpty()) {
      return clusters;
    }
    List<Cluster> out = new ArrayList<>(clusters.size());
    for (Cluster c : clusters) {
      Use u = byName.get(c.getName());
      out.add(u == null ? c : UpstreamProxyProtocol.wrap(c.toBuilder().setTransportSocket(
          socket(u.policy().tls(), u.host())).build(), u.policy()));
    }
    return List.copyOf(out);
  }

  /**
   * For the proxy's status: the credential clusters whose TLS fails at a gateway of {@code proxyNamespace} (null: on the
   * plaintext xDS port, served no Secret) because it is served no usable Secret, and why.
   */
  static List<String> warnings(PolicySet state, String proxyNamespace) {
    List<String> out = new ArrayList<>();
    for (Use u : uses(state)) {
      String name = u.policy().tls().credential().name();
      String why = proxyNamespace == null
          ? "Secrets are not served over the plaintext xDS port; connect the gateway with a join token"
          : OriginationCredentials.problem(state, proxyNamespace, u.policy().tls());
      if (why != null) {
        out.add("cluster " + u.cluster() + ": " + u.rule() + " tls.credentialName '" + name + "' is not served to this"
            + " gateway (" + why + "), so its TLS handshakes fail");
      }
    }
    return out;
  }

  /** The UpstreamTlsContext of {@code tls} (a credential) towards {@code host}, on SDS secrets over ADS. */
  static TransportSocket socket(Policy.ClientTls tls, String host) {
    String sni = ServiceEntryTranslator.sni(tls, host);
    CommonTlsContext.Builder common = CommonTlsContext.newBuilder();
    String name = tls.credential().name();
    if (tls.mutual()) {
      common.addTlsCertificateSdsSecretConfigs(sds(certificateName(name)));
    }
    if (!tls.insecureSkipVerify()) {
      common.setCombinedValidationContext(CommonTlsContext.CombinedCertificateValidationContext.newBuilder()
          .setDefaultValidationContext(ServiceEntryTranslator.serverNames(tls, sni))
          .setValidationContextSdsSecretConfig(sds(caName(name))));
    }
    return ServiceEntryTranslator.upstreamTls(sni, common);
  }

  private static SdsSecretConfig sds(String name) {
    return SdsSecretConfig.newBuilder().setName(name).setSdsConfig(MeshTranslator.ADS).build();
  }

  /** istiod's SDS name of a credential's certificate, {@code kubernetes://<name>} (the proxy's namespace). */
  static String certificateName(String credential) {
    return PREFIX + credential;
  }

  /** istiod's SDS name of a credential's CA, {@code kubernetes://<name>-cacert}. */
  static String caName(String credential) {
    return PREFIX + credential + OriginationCredentials.CA_SUFFIX;
  }

  /**
   * The credential secrets a gateway of {@code proxyNamespace} (its join token's) is served: for each credential the
   * rules name, the certificate (mode MUTUAL) and the CA that the Secrets of that namespace hold; nothing of another
   * namespace. By SDS name.
   */
  static Map<String, Secret> secrets(PolicySet state, String proxyNamespace) {
    Map<String, Secret> out = new LinkedHashMap<>();
    for (Use u : uses(state)) {
      Policy.ClientTls tls = u.policy().tls();
      String name = tls.credential().name();
      Policy.Secret own = state.secret(proxyNamespace, name);
      if (tls.mutual() && own != null && own.certChain() != null) {
        out.put(certificateName(name), Secret.newBuilder().setName(certificateName(name))
            .setTlsCertificate(TlsCertificate.newBuilder()
                .setCertificateChain(DataSource.newBuilder().setInlineString(own.certChain()))
                .setPrivateKey(DataSource.newBuilder().setInlineString(own.privateKey())))
            .build());
      }
      String ca = tls.insecureSkipVerify() ? null : OriginationCredentials.ca(state, proxyNamespace, name);
      if (ca != null) {
        out.put(caName(name), Secret.newBuilder().setName(caName(name)).setValidationContext(
            CertificateValidationContext.newBuilder().setTrustedCa(DataSource.newBuilder().setInlineString(ca)))
            .build());
      }
    }
    return out;
  }
}
