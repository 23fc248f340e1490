package io.keelson.dataplane.tls;

import io.netty.handler.codec.quic.QuicSslSessionContext;
import io.netty.handler.ssl.OpenSslServerSessionContext;
import io.netty.handler.ssl.SslContext;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.function.LongSupplier;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;

/**
 * Keeps a server context's session resumption from skipping client-certificate validation after its CAs change.
 * BoringSSL: sets the context's session-id context, which every cached session and TLS 1.3 ticket carries; a
 * session issued under another one is not resumed (full handshake, the new CAs verify). JDK: invalidates the
 * cached TLS 1.2 sessions; JDK TLS 1.3 stateless tickets cannot be revoked per context (a documented gap). QUIC
 * (Netty's quiche context, no session-id context): its TLS 1.3 ticket keys are derived from the CAs, so tickets
 * issued under other CAs fail to decrypt (full handshake), and rotate every two days as BoringSSL's own
 * ({@link QuicTicketKeys}; {@link #rotateQuicTicketKeys} on a timer of each QUIC listener's loop).
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
    if (sessions instanceof QuicSslSessionContext) {
      // Netty's QUIC context has no session-id context: its ticket keys follow the CAs instead (tickets sealed under
      // other CAs no longer open), derived so that an update with the same CAs keeps the sessions
      synchronized (QUIC_KEYS) {
        QUIC_KEYS.computeIfAbsent(context, c -> new QuicTicketKeys()).install(context, sessionIdContext,
            clock.getAsLong());
      }
      return;
    }
    forgetAll(context);
  }

  /** The ticket keys of each QUIC context, held weakly (the values hold no reference to their context). */
  private static final Map<SslContext, QuicTicketKeys> QUIC_KEYS = new WeakHashMap<>();
  /** The wall clock QUIC ticket-key epochs are counted on (milliseconds); tests move it. */
  static volatile LongSupplier clock = System::currentTimeMillis;

  /**
   * Installs the current epoch's ticket keys on every QUIC context whose keys are older ({@link QuicTicketKeys}):
   * run every {@link #millisToNextQuicKeyRotation}. Cheap when nothing is due.
   */
  static void rotateQuicTicketKeys() {
    long now = clock.getAsLong();
    synchronized (QUIC_KEYS) {
      QUIC_KEYS.forEach((context, keys) -> keys.rotate(context, now));
    }
  }

  /** Milliseconds until the next QUIC ticket-key epoch begins. */
  static long millisToNextQuicKeyRotation() {
    return QuicTicketKeys.PERIOD_MILLIS - Math.floorMod(clock.getAsLong(), QuicTicketKeys.PERIOD_MILLIS);
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
