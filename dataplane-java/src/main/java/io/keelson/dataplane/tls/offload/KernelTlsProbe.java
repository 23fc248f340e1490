package io.keelson.dataplane.tls.offload;

import io.keelson.dataplane.internal.ffm.KernelTls;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.internal.tcnative.SSLContext;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The start-up probe: attaches the {@code tls} ULP to one side of a real connected loopback TCP pair
 * ({@link KernelTls#probeLoopback}) and checks that BoringSSL accepts a key-log callback. Runs once per
 * process (the answer is cached and logged once); {@code --tls-offload off} never calls it. Thread-safe.
 */
public final class KernelTlsProbe {
  private static final Logger LOG = LoggerFactory.getLogger(KernelTlsProbe.class);
  private static final AtomicLong RUNS = new AtomicLong();
  private static KernelTlsStatus cached; // guarded by KernelTlsProbe.class

  private KernelTlsProbe() {}

  /** The cached result, probing on the first call. */
  public static synchronized KernelTlsStatus status() {
    if (cached == null) {
      RUNS.incrementAndGet();
      cached = run();
      if (cached.usable()) {
        LOG.info("kernel TLS offload: available ({}; {})", cached.kernelReason(), cached.secretsReason());
      } else {
        LOG.info("kernel TLS offload: unavailable, TLS stays in user space: kernel: {}; TLS library: {}",
            cached.kernelReason(), cached.secretsReason());
      }
    }
    return cached;
  }

  /** How many times the probe ran in this process (0 or 1; tests check that {@code off} never probes). */
  public static long runs() {
    return RUNS.get();
  }

  /** Forgets the cached answer so the next {@link #status} probes again (tests only). */
  static synchronized void forget() {
    cached = null;
  }

  private static KernelTlsStatus run() {
    int errno;
    String reason;
    try {
      errno = KernelTls.probeLoopback();
      reason = explain(errno);
    } catch (RuntimeException | LinkageError e) {
      errno = -1;
      reason = "the probe itself failed: " + e.getMessage();
    }
    String secrets;
    boolean export;
    if (!OpenSsl.isAvailable()) {
      export = false;
      secrets = "netty-tcnative is unavailable (" + OpenSsl.unavailabilityCause() + "): JDK TLS cannot export secrets";
    } else {
      export = keyLogAccepted();
      secrets = export ? OpenSsl.versionString() + " hands over TLS 1.3 traffic secrets (key-log callback)"
          : OpenSsl.versionString() + " refused SSL_CTX_set_keylog_callback";
    }
    return new KernelTlsStatus(true, errno == 0, errno, reason, export, secrets);
  }

  /** What {@code setsockopt(TCP_ULP, "tls")}'s errno means. */
  static String explain(int errno) {
    String name = KernelTls.errnoName(errno);
    return switch (name) {
      case "OK" -> "TCP_ULP \"tls\" accepted";
      case "ENOENT" -> "ENOENT: the kernel has no \"tls\" upper-layer protocol (built without CONFIG_TLS, or the tls"
          + " module is not loaded: modprobe tls)";
      case "EPERM", "EACCES" -> name + ": not permitted to attach the tls ULP (seccomp or LSM policy, e.g. a"
          + " container's profile)";
      case "ENOPROTOOPT" -> "ENOPROTOOPT: the kernel has no TCP_ULP (older than 4.13)";
      case "EEXIST" -> "EEXIST: the probe socket already had an upper-layer protocol";
      case "ENOTCONN" -> "ENOTCONN: the probe socket was not connected";
      default -> name + ": setsockopt(SOL_TCP, TCP_ULP, \"tls\") failed";
    };
  }

  private static boolean keyLogAccepted() {
    SslContext ctx = null;
    try {
      ctx = SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL).build();
      long handle = TcnativeContextHandle.of(ctx);
      return handle != 0 && SSLContext.setKeyLogCallback(handle, (ssl, line) -> { });
    } catch (Exception | LinkageError e) {
      return false;
    } finally {
      if (ctx instanceof io.netty.util.ReferenceCounted r) {
        r.release();
      }
    }
  }
}
