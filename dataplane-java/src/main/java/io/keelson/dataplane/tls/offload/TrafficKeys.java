package io.keelson.dataplane.tls.offload;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One direction's record-protection key and IV, derived from a TLS 1.3 traffic secret with
 * HKDF-Expand-Label (RFC 8446 §7.1: {@code key = HKDF-Expand-Label(secret, "key", "", key_length)},
 * §7.3: {@code iv = HKDF-Expand-Label(secret, "iv", "", 12)}). Holds secrets: {@link #wipe} when done.
 * Not thread-safe; confined to the thread that derived it.
 */
public final class TrafficKeys {
  private final byte[] key;
  private final byte[] iv;

  private TrafficKeys(byte[] key, byte[] iv) {
    this.key = key;
    this.iv = iv;
  }

  /** Derives the key and IV of {@code cipher} from {@code trafficSecret}. */
  public static TrafficKeys derive(OffloadCipher cipher, byte[] trafficSecret) {
    if (trafficSecret.length != cipher.secretLength) {
      throw new IllegalArgumentException(cipher.ianaName + " traffic secrets are " + cipher.secretLength
          + " bytes, got " + trafficSecret.length);
    }
    return new TrafficKeys(hkdfExpandLabel(cipher.hmac, trafficSecret, "key", cipher.keyLength),
        hkdfExpandLabel(cipher.hmac, trafficSecret, "iv", OffloadCipher.IV_LENGTH));
  }

  public byte[] key() {
    return key;
  }

  /** The full 12-byte TLS 1.3 IV (the per-record nonce is this XOR the sequence number). */
  public byte[] iv() {
    return iv;
  }

  public void wipe() {
    Arrays.fill(key, (byte) 0);
    Arrays.fill(iv, (byte) 0);
  }

  /**
   * HKDF-Expand-Label with an empty context: HKDF-Expand(secret, HkdfLabel, length), HkdfLabel =
   * uint16 length || opaque label&lt;7..255&gt; ("tls13 " + label) || opaque context&lt;0..255&gt; (empty).
   */
  static byte[] hkdfExpandLabel(String hmac, byte[] secret, String label, int length) {
    byte[] full = ("tls13 " + label).getBytes(StandardCharsets.US_ASCII);
    byte[] info = new byte[2 + 1 + full.length + 1];
    info[0] = (byte) (length >>> 8);
    info[1] = (byte) length;
    info[2] = (byte) full.length;
    System.arraycopy(full, 0, info, 3, full.length);
    info[info.length - 1] = 0; // empty context
    return hkdfExpand(hmac, secret, info, length);
  }

  /** RFC 5869 HKDF-Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
  static byte[] hkdfExpand(String hmac, byte[] prk, byte[] info, int length) {
    try {
      Mac mac = Mac.getInstance(hmac);
      mac.init(new SecretKeySpec(prk, hmac));
      byte[] out = new byte[length];
      byte[] t = new byte[0];
      int done = 0;
      for (int i = 1; done < length; i++) {
        mac.update(t);
        mac.update(info);
        mac.update((byte) i);
        t = mac.doFinal();
        int n = Math.min(t.length, length - done);
        System.arraycopy(t, 0, out, done, n);
        done += n;
      }
      Arrays.fill(t, (byte) 0);
      return out;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(hmac + " is unavailable in this JDK", e);
    }
  }
}
