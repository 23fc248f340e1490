package io.keelson.dataplane.tls;

import io.netty.handler.ssl.OpenSslServerSessionContext;
import io.netty.handler.ssl.SslContext;
import java.util.Collections;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;

/**
 * Keeps a server context's session resumption from skipping client-certificate validation after its CAs change.
 * BoringSSL: sets the context's session-id context, which every cached session and TLS 1.3 ticket carries; a
 * session issued under another one is not resumed (full handshake, the new CAs verify). JDK: invalidates the
 * cached TLS 1.2 sessions; JDK TLS 1.3 stateless tickets cannot be revoked per context (a documented gap).
 * Thread-safe; call off the event loop.
 */
final class SessionResumption {
  private SessionResumption() {}

  static void restrictTo(SslContext context, byte[] sessionIdContext) {
    SSLSessionContext sessions = context.sessionContext();
    if (sessions instanceof OpenSslServerSessionContext openSsl) {
      if (!openSsl.setSessionIdContext(sessionIdContext)) {
        throw new IllegalStateException("BoringSSL refused a " + sessionIdContext.length + "-byte session-id context");
      }
      return;
    }
    forgetAll(context);
  }

  /** Invalidates every session {@code context} has cached (a client context: none of them is resumed again). */
  static void forgetAll(SslContext context) {
    SSLSessionContext sessions = context.sessionContext();
    for (byte[] id : Collections.list(sessions.getIds())) {
      SSLSession s = sessions.getSession(id);
      if (s != null) {
        s.invalidate();
      }
    }
  }
}
