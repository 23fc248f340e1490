package io.keelson.dataplane.tls;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCounted;
import java.lang.ref.Cleaner;
import java.util.Locale;

/**
 * Which BoringSSL engine the data plane's contexts build, and the release of their native state.
 * Netty's {@link SslProvider#OPENSSL} engine registers a finalizer per engine (one per connection:
 * allocation and GC work on every handshake); {@link SslProvider#OPENSSL_REFCNT} is the same engine
 * freed by reference counting, which {@link io.netty.handler.ssl.SslHandler} does when the connection's
 * pipeline goes. The reference-counted context itself is released by a {@link Cleaner} once the
 * {@link ServerTls} / {@link ClientTls} that owns it is unreachable (every engine retains its context, so
 * open connections keep it alive). The property {@value #PROPERTY} = {@code refcnt} (default) |
 * {@code finalized} picks one (measured in docs/security.md, benchmark). Thread-safe.
 */
final class TlsEngines {
  static final String PROPERTY = "keelson.tls.engine";
  private static final Cleaner CLEANER = Cleaner.create();

  private TlsEngines() {}

  /** The provider to build with for a requested one: BoringSSL as the reference-counted engine by default. */
  static SslProvider build(SslProvider requested) {
    if (requested != SslProvider.OPENSSL) {
      return requested;
    }
    String engine = System.getProperty(PROPERTY, "refcnt").trim().toLowerCase(Locale.ROOT);
    return engine.equals("finalized") ? SslProvider.OPENSSL : SslProvider.OPENSSL_REFCNT;
  }

  /** True for either BoringSSL engine. */
  static boolean isOpenSsl(SslProvider p) {
    return p == SslProvider.OPENSSL || p == SslProvider.OPENSSL_REFCNT;
  }

  /** Releases {@code context}'s native state once {@code owner} is unreachable (no-op for other contexts). */
  static <T> T releaseWith(T owner, SslContext context) {
    if (context instanceof ReferenceCounted rc) {
      CLEANER.register(owner, new Release(rc));
    }
    return owner;
  }

  private record Release(ReferenceCounted context) implements Runnable {
    @Override
    public void run() {
      if (context.refCnt() > 0) {
        context.release();
      }
    }
  }
}
