package io.keelson.dataplane.tls.offload;

import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.SslContext;
import java.lang.reflect.Field;

/**
 * The netty-tcnative context handle that {@code io.netty.internal.tcnative.SSLContext.*} take. Netty keeps it in
 * {@code ReferenceCountedOpenSslContext}'s private {@code ctx} field; its public {@code sslCtxPointer()} and
 * {@code context()} both return the raw BoringSSL {@code SSL_CTX*} ({@code SSLContext.getSslCtx(ctx)}) instead,
 * and passing that to {@code SSLContext.setKeyLogCallback} crashes the JVM inside tcnative (seen in
 * TrafficSecretLogTest). Reading the field is the one reflective step here; when a Netty upgrade renames it,
 * {@link #of} returns 0 and offload falls back ({@code tls_library}). Stateless, thread-safe.
 */
final class TcnativeContextHandle {
  private static final Field CTX = find();

  private TcnativeContextHandle() {}

  private static Field find() {
    try {
      Field f = ReferenceCountedOpenSslContext.class.getDeclaredField("ctx");
      if (f.getType() != long.class) {
        return null;
      }
      f.setAccessible(true);
      return f;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null;
    }
  }

  /** The tcnative handle of a BoringSSL context, or 0 when it is not one or the handle cannot be read. */
  static long of(SslContext context) {
    if (CTX == null || !(context instanceof ReferenceCountedOpenSslContext)) {
      return 0;
    }
    try {
      return CTX.getLong(context);
    } catch (IllegalAccessException e) {
      return 0;
    }
  }
}
