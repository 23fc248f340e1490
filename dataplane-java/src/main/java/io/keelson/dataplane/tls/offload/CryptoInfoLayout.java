package io.keelson.dataplane.tls.offload;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The kernel's {@code struct tls12_crypto_info_aes_gcm_128 / _aes_gcm_256 / _chacha20_poly1305}
 * ({@code <linux/tls.h>}), the value of {@code setsockopt(SOL_TLS, TLS_TX | TLS_RX)}. All three are a
 * {@code struct tls_crypto_info} header followed by byte arrays, so no padding:
 *
 * <pre>
 *   0        2            4                4+iv          4+iv+key        4+iv+key+salt     +8
 *   +--------+------------+----------------+-------------+---------------+----------------+
 *   |version |cipher_type | iv[8 | 12]     | key[16|32]  | salt[4 | 0]   | rec_seq[8]     |
 *   |u16 host|u16 host    |                |             |               | big-endian     |
 *   +--------+------------+----------------+-------------+---------------+----------------+
 *   AES-GCM-128: iv 8, key 16, salt 4 (40 bytes)   AES-GCM-256: iv 8, key 32, salt 4 (56 bytes)
 *   ChaCha20-Poly1305: iv 12, key 32, salt 0 (56 bytes)
 * </pre>
 *
 * The TLS 1.3 12-byte IV goes in as salt (its first {@code saltLength} bytes) then iv (the rest);
 * {@code rec_seq} is the next record's sequence number. The offsets here are checked against the system's
 * header by {@code CryptoInfoLayoutTest} (gcc at test time). Stateless.
 */
public final class CryptoInfoLayout {
  /** {@code TLS_1_3_VERSION}: major 3, minor 4. */
  public static final int TLS_1_3_VERSION = 0x0304;
  static final int HEADER = 4;

  private CryptoInfoLayout() {}

  public static int size(OffloadCipher c) {
    return HEADER + c.kernelIvLength() + c.keyLength + c.saltLength + OffloadCipher.REC_SEQ_LENGTH;
  }

  public static int ivOffset(OffloadCipher c) {
    return HEADER;
  }

  public static int keyOffset(OffloadCipher c) {
    return HEADER + c.kernelIvLength();
  }

  public static int saltOffset(OffloadCipher c) {
    return keyOffset(c) + c.keyLength;
  }

  public static int recSeqOffset(OffloadCipher c) {
    return saltOffset(c) + c.saltLength;
  }

  /** The struct for {@code cipher} with {@code keys} and next record sequence number {@code recordSequence}. */
  public static byte[] encode(OffloadCipher c, TrafficKeys keys, long recordSequence) {
    if (keys.key().length != c.keyLength || keys.iv().length != OffloadCipher.IV_LENGTH) {
      throw new IllegalArgumentException(c.ianaName + " needs a " + c.keyLength + "-byte key and a 12-byte IV");
    }
    byte[] out = new byte[size(c)];
    ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.nativeOrder());
    b.putShort(0, (short) TLS_1_3_VERSION);
    b.putShort(2, (short) c.kernelType);
    System.arraycopy(keys.iv(), c.saltLength, out, ivOffset(c), c.kernelIvLength());
    System.arraycopy(keys.key(), 0, out, keyOffset(c), c.keyLength);
    System.arraycopy(keys.iv(), 0, out, saltOffset(c), c.saltLength);
    ByteBuffer.wrap(out).order(ByteOrder.BIG_ENDIAN).putLong(recSeqOffset(c), recordSequence);
    return out;
  }
}
