package io.keelson.control.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.security.CertificateRequests;
import io.keelson.dataplane.security.CertificateRotator;
import io.keelson.dataplane.security.SpiffeId;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The proxy-side rotator against an in-process CA: answers it must refuse, and retries after failures. */
class CertificateRotatorTest {
  private final MeshCa ca;
  private final SpiffeId id;

  CertificateRotatorTest() throws CaException {
    ca = CaLoader.load(CaOptions.selfSigned(null));
    id = ca.identity("shop", "web");
  }

  @Test
  void aCertificateForAnotherKeyIsRefused() {
    CertificateRotator r = new CertificateRotator((csr, ttl) -> ca.sign(
        CertificateRequests.csr(CertificateRequests.newKeyPair()), id, ttl).stream().map(Pem::encode).toList());
    try (r) {
      assertThatThrownBy(r::start).hasMessageContaining("not for the key this proxy sent");
      assertThat(r.current()).isNull();
    }
  }

  @Test
  void aFailedRotationKeepsTheCurrentCertificateAndIsRetried() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    try (CertificateRotator r = new CertificateRotator((csr, ttl) -> {
      int n = calls.incrementAndGet();
      if (n == 2 || n == 3) {
        throw new IllegalStateException("control plane unreachable");
      }
      return ca.sign(CertificateRequests.pemBody(csr), id, ttl).stream().map(Pem::encode).toList();
    }, Duration.ofSeconds(2), 0.5, Clock.systemUTC()).start()) {
      var first = r.current();
      await().atMost(Duration.ofSeconds(20)).until(() -> r.rotations() >= 2);
      assertThat(r.failures()).isEqualTo(2);
      assertThat(r.current()).isNotSameAs(first);
      assertThat(r.lastError()).isNull();
    }
  }
}
