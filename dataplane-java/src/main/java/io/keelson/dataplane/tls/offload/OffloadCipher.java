package io.keelson.dataplane.tls.offload;

/**
 * The TLS 1.3 cipher suites the kernel can take over, with their {@code <linux/tls.h>} cipher type, key
 * length, the HKDF hash of the suite and how the 12-byte TLS 1.3 IV splits into the kernel's salt and iv
 * fields (AES-GCM: 4-byte salt + 8-byte iv; ChaCha20-Poly1305: no salt, 12-byte iv). Immutable.
 */
public enum OffloadCipher {
  AES_128_GCM("TLS_AES_128_GCM_SHA256", 51, 16, "HmacSHA256", 32, 4),
  AES_256_GCM("TLS_AES_256_GCM_SHA384", 52, 32, "HmacSHA384", 48, 4),
  CHACHA20_POLY1305("TLS_CHACHA20_POLY1305_SHA256", 54, 32, "HmacSHA256", 32, 0);

  /** TLS 1.3 nonce length: every suite here. */
  public static final int IV_LENGTH = 12;
  /** {@code TLS_*_REC_SEQ_SIZE}. */
  public static final int REC_SEQ_LENGTH = 8;

  /** IANA name, as BoringSSL and Netty report it. */
  public final String ianaName;
  /** {@code TLS_CIPHER_*}. */
  public final int kernelType;
  public final int keyLength;
  /** The suite's HKDF MAC (JCA name). */
  public final String hmac;
  /** The hash length: the length of this suite's traffic secrets. */
  public final int secretLength;
  /** Bytes of the 12-byte IV the kernel takes as {@code salt}; the rest is its {@code iv}. */
  public final int saltLength;

  OffloadCipher(String ianaName, int kernelType, int keyLength, String hmac, int secretLength, int saltLength) {
    this.ianaName = ianaName;
    this.kernelType = kernelType;
    this.keyLength = keyLength;
    this.hmac = hmac;
    this.secretLength = secretLength;
    this.saltLength = saltLength;
  }

  /** The kernel struct's {@code iv} field length. */
  public int kernelIvLength() {
    return IV_LENGTH - saltLength;
  }

  /**
   * The suite by the name an engine reports ({@code TLS_AES_128_GCM_SHA256}; BoringSSL via Netty may also say
   * {@code AEAD-AES128-GCM-SHA256}), or null when the kernel cannot take it.
   */
  public static OffloadCipher fromName(String name) {
    if (name == null) {
      return null;
    }
    return switch (name) {
      case "TLS_AES_128_GCM_SHA256", "AEAD-AES128-GCM-SHA256" -> AES_128_GCM;
      case "TLS_AES_256_GCM_SHA384", "AEAD-AES256-GCM-SHA384" -> AES_256_GCM;
      case "TLS_CHACHA20_POLY1305_SHA256", "AEAD-CHACHA20-POLY1305-SHA256" -> CHACHA20_POLY1305;
      default -> null;
    };
  }
}
