package io.keelson.control.store.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.testing.TestCa;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The etcd client against a real etcd serving https with client certificates required and auth enabled
 * ({@link SecureEtcd}): reads, writes and watches with a token, a new token when etcd expires the old one, and
 * start-up that stops at once, saying what to fix, when etcd refuses the replica.
 */
class EtcdSecurityTest {
  private static final String PREFIX = "/secure-test/";
  @TempDir
  Path dir;

  @BeforeEach
  void needEtcd() {
    Assumptions.assumeTrue(EtcdProcess.binary() != null, "the etcd binary is not on PATH (apt-get install etcd-server)");
  }

  private static EtcdStore.Options options(SecureEtcd etcd, EtcdSecurity security, String prefix) {
    return EtcdStore.Options.of(List.of(etcd.endpoint())).withPrefix(prefix).withStartTimeout(Duration.ofSeconds(30))
        .withSecurity(security);
  }

  @Test
  void readsWritesAndWatchesWithTheCertificateAndAToken() throws Exception {
    try (SecureEtcd etcd = new SecureEtcd(dir, PREFIX)) {
      EtcdClient client = new EtcdClient(List.of(etcd.endpoint()), Duration.ofSeconds(2), etcd.security());
      long revision = client.put(PREFIX + "a", "one", 0);
      assertThat(client.get(PREFIX + "a").value()).isEqualTo("one");
      try (Stream<String> watch = client.watch(PREFIX, revision + 1)) {
        Iterator<String> lines = watch.iterator();
        lines.next(); // the watch's creation
        client.put(PREFIX + "b", "two", 0);
        assertThat(lines.next()).contains("\"events\"", "\"L3NlY3VyZS10ZXN0L2I=\""); // the key /secure-test/b
      }
      long lease = client.grantLease(5);
      assertThat(client.keepAlive(lease)).isPositive();
    }
  }

  @Test
  void anExpiredTokenIsReplacedAndTheCallGoesThrough() throws Exception {
    try (SecureEtcd etcd = new SecureEtcd(dir, PREFIX, "--auth-token-ttl", "1")) {
      EtcdClient client = new EtcdClient(List.of(etcd.endpoint()), Duration.ofSeconds(2), etcd.security());
      client.put(PREFIX + "a", "one", 0);
      String old = etcd.token();
      Thread.sleep(3000);
      // Both tokens are gone now: etcd says so for the one taken by hand...
      assertThat(etcd.raw("/v3/kv/range", "{\"key\":\"L3NlY3VyZS10ZXN0L2E=\"}", old).statusCode()).isEqualTo(401);
      // ...and the client, whose token expired too, takes a new one and carries on.
      assertThat(client.get(PREFIX + "a").value()).isEqualTo("one");
      client.put(PREFIX + "a", "two", 0);
      assertThat(client.get(PREFIX + "a").value()).isEqualTo("two");
    }
  }

  @Test
  void refusalsStopStartUpAtOnceSayingWhatToFix() throws Exception {
    try (SecureEtcd etcd = new SecureEtcd(dir, PREFIX)) {
      EtcdSecurity good = etcd.security();
      Path wrongPassword = Files.writeString(dir.resolve("wrong"), "guess");
      long started = System.nanoTime();
      assertThatThrownBy(() -> EtcdStore.connect(options(etcd, new EtcdSecurity(good.caFile(), good.certFile(),
          good.keyFile(), good.user(), wrongPassword), PREFIX)))
          .isInstanceOf(EtcdException.class)
          .hasMessageContaining("refused this replica")
          .hasMessageContaining("etcd refused user 'keelson'")
          .hasMessageContaining(wrongPassword.toString())
          .hasMessageContaining("authentication failed");
      // No certificate: the handshake fails, and the message names the flags to check.
      assertThatThrownBy(() -> EtcdStore.connect(options(etcd, new EtcdSecurity(good.caFile(), null, null,
          good.user(), good.passwordFile()), PREFIX)))
          .isInstanceOf(EtcdException.class)
          .hasMessageContaining("TLS handshake failed")
          .hasMessageContaining("--etcd-cert");
      // etcd's certificate from another CA: not trusted.
      Path otherCa = new TestCa("someone-else").write(dir, "other-ca.crt");
      assertThatThrownBy(() -> EtcdStore.connect(options(etcd, new EtcdSecurity(otherCa, good.certFile(),
          good.keyFile(), good.user(), good.passwordFile()), PREFIX)))
          .isInstanceOf(EtcdException.class)
          .hasMessageContaining("TLS handshake failed")
          .hasMessageContaining("--etcd-cacert");
      // No user although etcd has auth on.
      assertThatThrownBy(() -> EtcdStore.connect(options(etcd, new EtcdSecurity(good.caFile(), good.certFile(),
          good.keyFile(), null, null), PREFIX)))
          .isInstanceOf(EtcdException.class)
          .hasMessageContaining("give --etcd-user and --etcd-password-file");
      // A user whose role does not cover the prefix.
      assertThatThrownBy(() -> EtcdStore.connect(options(etcd, good, "/elsewhere/")))
          .isInstanceOf(EtcdException.class)
          .hasMessageContaining("permission denied")
          .hasMessageContaining("needs a role granting readwrite on the --etcd-prefix keys");
      // All refused at once, not after the 30 s start timeout each.
      assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));

      // And the right settings connect and read the (empty) prefix.
      try (EtcdStore store = EtcdStore.connect(options(etcd, good, PREFIX))) {
        assertThat(store.lastError()).isNull();
      }
    }
  }
}
