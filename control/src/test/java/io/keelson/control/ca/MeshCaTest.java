package io.keelson.control.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.security.CertificateRequests;
import io.keelson.dataplane.security.SpiffeId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MeshCaTest {
  @TempDir
  Path tmp;

  private static final SpiffeId WEB = new SpiffeId("cluster.local", "shop", "web");

  @Test
  void issuesShortLivedSvidWhoseOnlyIdentityIsTheSpiffeUri() throws Exception {
    MeshCa ca = CaLoader.load(CaOptions.selfSigned(null));
    KeyPair kp = CertificateRequests.newKeyPair();

    List<X509Certificate> chain = ca.sign(CertificateRequests.csr(kp), WEB, null);

    X509Certificate leaf = chain.getFirst();
    assertThat(leaf.getPublicKey()).isEqualTo(kp.getPublic());
    assertThat(uriSans(leaf)).containsExactly("spiffe://cluster.local/ns/shop/sa/web");
    assertThat(leaf.getSubjectX500Principal().getName()).isEmpty();
    assertThat(leaf.getBasicConstraints()).isEqualTo(-1);
    assertThat(leaf.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
    Duration life = Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant());
    assertThat(life).isEqualTo(Duration.ofHours(24).plus(MeshCa.BACKDATE));
    assertThat(chain.getLast()).isEqualTo(ca.roots().getFirst());
    validates(chain.subList(0, chain.size() - 1), ca.roots().getFirst());
  }

  @Test
  void ignoresSubjectAndSansTheRequestAsksFor() throws Exception {
    MeshCa ca = CaLoader.load(CaOptions.selfSigned(null));
    KeyPair kp = CertificateRequests.newKeyPair();
    ExtensionsGenerator ext = new ExtensionsGenerator();
    ext.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(
        GeneralName.uniformResourceIdentifier, "spiffe://cluster.local/ns/kube-system/sa/admin")));
    byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=admin"), kp.getPublic())
        .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
        .build(MeshCa.signer(kp.getPrivate())).getEncoded();

    X509Certificate leaf = ca.sign(csr, WEB, null).getFirst();

    assertThat(uriSans(leaf)).containsExactly(WEB.uri());
    assertThat(leaf.getSubjectX500Principal().getName()).isEmpty();
  }

  @Test
  void refusesRequestNotSignedByTheKeyItCarries() throws Exception {
    MeshCa ca = CaLoader.load(CaOptions.selfSigned(null));
    KeyPair mine = CertificateRequests.newKeyPair();
    KeyPair stolen = CertificateRequests.newKeyPair();
    byte[] csr = new JcaPKCS10CertificationRequestBuilder(new X500Name("CN=x"), stolen.getPublic())
        .build(MeshCa.signer(mine.getPrivate())).getEncoded();

    assertThatThrownBy(() -> ca.sign(csr, WEB, null)).isInstanceOf(CaException.class)
        .hasMessageContaining("signature does not verify");
    assertThatThrownBy(() -> ca.sign(new byte[] {0x30, 0x03, 0x02, 0x01, 0x00}, WEB, null))
        .isInstanceOf(CaException.class).hasMessageContaining("PKCS#10");
  }

  @Test
  void lifetimeIsConfigurableAndRequestsCannotExceedIt() throws Exception {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    MeshCa ca = CaLoader.load(CaOptions.selfSigned(null).withWorkloadTtl(Duration.ofHours(1)),
        Clock.fixed(now, ZoneOffset.UTC));
    KeyPair kp = CertificateRequests.newKeyPair();

    assertThat(ca.sign(CertificateRequests.csr(kp), WEB, null).getFirst().getNotAfter().toInstant())
        .isEqualTo(now.plus(Duration.ofHours(1)));
    assertThat(ca.sign(CertificateRequests.csr(kp), WEB, Duration.ofDays(30)).getFirst().getNotAfter().toInstant())
        .isEqualTo(now.plus(Duration.ofHours(1)));
    assertThat(ca.sign(CertificateRequests.csr(kp), WEB, Duration.ofMinutes(10)).getFirst().getNotAfter().toInstant())
        .isEqualTo(now.plus(Duration.ofMinutes(10)));
    assertThatThrownBy(() -> ca.sign(CertificateRequests.csr(kp), new SpiffeId("other.td", "a", "b"), null))
        .hasMessageContaining("outside this CA's trust domain");
  }

  @Test
  void selfSignedRootIsPersistedInTheDataDirAndReusedAfterRestart() throws Exception {
    MeshCa first = CaLoader.load(CaOptions.selfSigned(tmp));
    MeshCa second = CaLoader.load(CaOptions.selfSigned(tmp));

    assertThat(second.roots()).isEqualTo(first.roots());
    assertThat(Files.getPosixFilePermissions(tmp.resolve("ca/root-key.pem")).toString()).isEqualTo("[OWNER_READ, OWNER_WRITE]");
    assertThat(first.roots().getFirst().getBasicConstraints()).isGreaterThanOrEqualTo(0);
    assertThat(first.roots().getFirst().getPublicKey().getAlgorithm()).isEqualTo("EC");
    KeyPair kp = CertificateRequests.newKeyPair();
    validates(second.sign(CertificateRequests.csr(kp), WEB, null).subList(0, 1), first.roots().getFirst());
  }

  @Test
  void operatorProvidedIntermediateSignsAndTheRootIsTheTrustBundle() throws Exception {
    Instant now = Instant.now();
    KeyPair rootKey = CaLoader.ecKeyPair();
    X509Certificate root = CaLoader.selfSignedRoot(rootKey, "corp.example", now);
    KeyPair interKey = CaLoader.ecKeyPair();
    X509Certificate inter = CaLoader.intermediate(interKey, root, rootKey.getPrivate(), "mesh intermediate", now,
        Duration.ofDays(365));
    Path cert = Files.writeString(tmp.resolve("ca.pem"), Pem.encode(inter));
    Path key = Files.writeString(tmp.resolve("ca-key.pem"), Pem.encodeKey(interKey));
    Path rootFile = Files.writeString(tmp.resolve("root.pem"), Pem.encode(root));

    MeshCa ca = CaLoader.load(new CaOptions("corp.example", Duration.ofHours(2), cert, key, rootFile, null));

    assertThat(ca.roots()).containsExactly(root);
    List<X509Certificate> chain = ca.sign(CertificateRequests.csr(CertificateRequests.newKeyPair()),
        new SpiffeId("corp.example", "shop", "web"), null);
    assertThat(chain).hasSize(3).endsWith(inter, root);
    validates(chain.subList(0, 2), root);
  }

  @Test
  void operatorChainProblemsAreReportedClearly() throws Exception {
    Instant now = Instant.now();
    KeyPair rootKey = CaLoader.ecKeyPair();
    X509Certificate root = CaLoader.selfSignedRoot(rootKey, "corp.example", now);
    KeyPair interKey = CaLoader.ecKeyPair();
    X509Certificate inter = CaLoader.intermediate(interKey, root, rootKey.getPrivate(), "inter", now, Duration.ofDays(1));
    Path interPem = Files.writeString(tmp.resolve("inter.pem"), Pem.encode(inter));
    Path interKeyPem = Files.writeString(tmp.resolve("inter-key.pem"), Pem.encodeKey(interKey));
    Path rootKeyPem = Files.writeString(tmp.resolve("root-key.pem"), Pem.encodeKey(rootKey));
    Path garbage = Files.writeString(tmp.resolve("garbage.pem"), "hello");
    MeshCa leafCa = CaLoader.load(CaOptions.selfSigned(null));
    KeyPair leafKey = CertificateRequests.newKeyPair();
    X509Certificate leaf = leafCa.sign(CertificateRequests.csr(leafKey), WEB, null).getFirst();
    Path leafPem = Files.writeString(tmp.resolve("leaf.pem"), Pem.encode(leaf, leafCa.roots().getFirst()));
    Path leafKeyPem = Files.writeString(tmp.resolve("leaf-key.pem"), Pem.encodeKey(leafKey));
    Path expired = Files.writeString(tmp.resolve("old.pem"), Pem.encode(CaLoader.intermediate(interKey, root,
        rootKey.getPrivate(), "old", now.minus(Duration.ofDays(10)), Duration.ofDays(1)), root));

    assertThatThrownBy(() -> load(interPem, interKeyPem, null)).hasMessageContaining("does not reach a root")
        .hasMessageContaining("--ca-root");
    assertThatThrownBy(() -> load(interPem, rootKeyPem, null)).hasMessageContaining("does not match the certificate");
    assertThatThrownBy(() -> load(leafPem, leafKeyPem, null)).hasMessageContaining("is not a CA");
    assertThatThrownBy(() -> load(garbage, interKeyPem, null)).hasMessageContaining("garbage.pem");
    assertThatThrownBy(() -> load(expired, interKeyPem, null)).hasMessageContaining("is not valid now");
    assertThatThrownBy(() -> CaLoader.load(new CaOptions("corp.example", Duration.ofHours(1), interPem, null, null, null)))
        .hasMessageContaining("needs both --ca-cert and --ca-key");
  }

  private static MeshCa load(Path cert, Path key, Path root) throws CaException {
    return CaLoader.load(new CaOptions("corp.example", Duration.ofHours(1), cert, key, root, null));
  }

  static List<String> uriSans(X509Certificate c) throws Exception {
    return c.getSubjectAlternativeNames().stream().filter(n -> (Integer) n.get(0) == 6)
        .map(n -> (String) n.get(1)).toList();
  }

  static void validates(List<X509Certificate> path, X509Certificate root) throws Exception {
    PKIXParameters params = new PKIXParameters(Set.of(new TrustAnchor(root, null)));
    params.setRevocationEnabled(false);
    CertPathValidator.getInstance("PKIX").validate(CertificateFactory.getInstance("X.509").generateCertPath(path), params);
  }
}
