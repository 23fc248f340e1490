package io.keelson.dataplane.tls;

import io.netty.handler.codec.quic.QuicSslSessionContext;
import io.netty.handler.codec.quic.SslSessionTicketKey;
import io.netty.handler.ssl.OpenSslServerSessionContext;
import io.netty.handler.ssl.SslContext;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSessionContext;

/**
 * Keeps a server context's session resumption from skipping client-certificate validation after its CAs change.
 * BoringSSL: sets the context's session-id context, which every cached session and TLS 1.3 ticket carries; a
 * session issued under another one is not resumed (full handshake, the new CAs verify). JDK: invalidates the
 * cached TLS 1.2 sessions; JDK TLS 1.3 stateless tickets cannot be revoked per context (a documented gap). QUIC
 * (Netty's quiche context, no session-id context): its TLS 1.3 ticket keys are derived from the CAs, so tickets
 * issued under other CAs fail to decrypt (full handshake); BoringSSL's own two-day ticket-key rotation then no
 * longer applies to that context (the keys change with its CAs).
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
    if (sessions instanceof QuicSslSessionContext quic) {
      // Netty's QUIC context has no session-id context: its ticket keys follow the CAs instead (tickets sealed under
      // other CAs no longer open), derived so that an update with the same CAs keeps the sessions
      quic.setTicketKeys(quicTicketKey(context, sessionIdContext));
      return;
    }
    forgetAll(context);
  }

  /** A random secret per QUIC context, held weakly: its ticket keys are derived from it and the CAs. */
  private static final Map<SslContext, byte[]> QUIC_SECRETS = Collections.synchronizedMap(new WeakHashMap<>());

  private static SslSessionTicketKey quicTicketKey(SslContext context, byte[] sessionIdContext) {
    byte[] secret = QUIC_SECRETS.computeIfAbsent(context, c -> {
      byte[] b = new byte[32];
      new SecureRandom().nextBytes(b);
      return b;
    });
    try {
      MessageDigest sha512 = MessageDigest.getInstance("SHA-512");
      sha512.update(secret);
      byte[] d = sha512.digest(sessionIdContext); // 64 bytes: a 16-byte name, HMAC key and AES key
      return new SslSessionTicketKey(Arrays.copyOfRange(d, 0, 16), Arrays.copyOfRange(d, 16, 32),
          Arrays.copyOfRange(d, 32, 48));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-512 is unavailable", e);
    }
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
