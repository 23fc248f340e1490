package io.keelson.dataplane.tls;

import io.netty.handler.codec.quic.QuicSslSessionContext;
import io.netty.handler.codec.quic.SslSessionTicketKey;
import io.netty.handler.ssl.SslContext;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * One QUIC server context's TLS 1.3 session-ticket keys, which must follow its client CAs (Netty's quiche context has
 * no session-id context): each key is derived from a random per-context secret, the epoch (wall-clock time divided by
 * {@link #PERIOD_MILLIS}) and the CAs' digest. The context holds [this epoch's, the previous epoch's]: tickets are
 * sealed with the first and still open with the second, so a ticket resumes for one to two periods, as with
 * BoringSSL's own rotation (which Netty's fixed keys would otherwise turn off), and a CA change closes all of them at
 * once. Holds no reference to its context (kept as a weak map's value). Guarded by {@link SessionResumption}'s lock.
 */
final class QuicTicketKeys {
  /** BoringSSL's {@code SSL_DEFAULT_TICKET_KEY_ROTATION_INTERVAL}: two days. */
  static final long PERIOD_MILLIS = TimeUnit.DAYS.toMillis(2);

  private final byte[] secret = new byte[32];
  private byte[] caDigest;
  private long installedEpoch;
  private boolean installed;

  QuicTicketKeys() {
    new SecureRandom().nextBytes(secret);
  }

  /** Keys for {@code caDigest} from now on (tickets sealed under other CAs no longer open). */
  void install(SslContext context, byte[] caDigest, long nowMillis) {
    this.caDigest = caDigest.clone();
    installed = false;
    rotate(context, nowMillis);
  }

  /** Installs the keys of {@code nowMillis}'s epoch if they are not already. */
  void rotate(SslContext context, long nowMillis) {
    long epoch = Math.floorDiv(nowMillis, PERIOD_MILLIS);
    if (caDigest == null || installed && epoch == installedEpoch) {
      return;
    }
    ((QuicSslSessionContext) context.sessionContext()).setTicketKeys(key(epoch), key(epoch - 1));
    installedEpoch = epoch;
    installed = true;
  }

  private SslSessionTicketKey key(long epoch) {
    try {
      MessageDigest sha512 = MessageDigest.getInstance("SHA-512");
      sha512.update(secret);
      for (int shift = 56; shift >= 0; shift -= 8) {
        sha512.update((byte) (epoch >>> shift));
      }
      byte[] d = sha512.digest(caDigest); // 64 bytes: a 16-byte name, HMAC key and AES key
      return new SslSessionTicketKey(Arrays.copyOfRange(d, 0, 16), Arrays.copyOfRange(d, 16, 32),
          Arrays.copyOfRange(d, 32, 48));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-512 is unavailable", e);
    }
  }
}
