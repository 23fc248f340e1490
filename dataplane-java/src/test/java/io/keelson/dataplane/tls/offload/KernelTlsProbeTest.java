package io.keelson.dataplane.tls.offload;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.internal.ffm.KernelTls;
import org.junit.jupiter.api.Test;

/** The start-up probe on this machine's kernel, on a real connected loopback socket pair. */
class KernelTlsProbeTest {

  @Test
  void reportsEnoentWithItsMeaningOnAKernelWithoutTls() {
    KernelTlsAnswer.Expected expected = KernelTlsAnswer.expected();
    assumeTrue(expected == KernelTlsAnswer.Expected.ENOENT,
        "this kernel's TLS support is " + expected + " (/proc/config.gz, /sys/module/tls); the ENOENT case needs a"
            + " kernel built without CONFIG_TLS");
    assertThat(KernelTls.probeLoopback()).isEqualTo(2); // ENOENT
    KernelTlsProbe.forget();
    KernelTlsStatus s = KernelTlsProbe.status();
    assertThat(s.probed()).isTrue();
    assertThat(s.kernelAvailable()).isFalse();
    assertThat(s.usable()).isFalse();
    assertThat(s.errno()).isEqualTo(2);
    assertThat(s.kernelReason()).startsWith("ENOENT").contains("CONFIG_TLS").contains("modprobe tls");
  }

  @Test
  void reportsAvailableOnAKernelWithTls() {
    KernelTlsAnswer.Expected expected = KernelTlsAnswer.expected();
    assumeTrue(expected == KernelTlsAnswer.Expected.AVAILABLE,
        "this kernel's TLS support is " + expected + "; the available case needs CONFIG_TLS=y or the tls module loaded");
    assertThat(KernelTls.probeLoopback()).isZero();
  }

  @Test
  void cachesTheAnswerAndProbesOncePerProcess() {
    KernelTlsProbe.forget();
    long before = KernelTlsProbe.runs();
    KernelTlsStatus first = KernelTlsProbe.status();
    KernelTlsStatus second = KernelTlsProbe.status();
    assertThat(second).isSameAs(first);
    assertThat(KernelTlsProbe.runs()).isEqualTo(before + 1);
  }

  @Test
  void reportsThatBoringSslHandsOverItsSecrets() {
    KernelTlsStatus s = KernelTlsProbe.status();
    assumeTrue(io.netty.handler.ssl.OpenSsl.isAvailable(), "netty-tcnative does not load here");
    assertThat(s.secretsExport()).as(s.secretsReason()).isTrue();
    assertThat(s.secretsReason()).contains("BoringSSL");
  }

  @Test
  void explainsTheErrnosAPersonMeets() {
    assertThat(KernelTlsProbe.explain(0)).contains("accepted");
    assertThat(KernelTlsProbe.explain(1)).startsWith("EPERM").contains("seccomp");
    assertThat(KernelTlsProbe.explain(92)).startsWith("ENOPROTOOPT").contains("4.13");
    assertThat(KernelTlsProbe.explain(71)).startsWith("errno 71");
  }

  @Test
  void aKernelRefusalIsAnErrnoNotAnException() {
    assertThat(KernelTls.errnoName(KernelTls.attachUlp(-1))).isEqualTo("EBADF");
    assertThat(KernelTls.errnoName(KernelTls.setCryptoInfo(-1, true, new byte[40]))).isEqualTo("EBADF");
  }
}
