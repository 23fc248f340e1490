package io.keelson.dataplane.tls.offload;

/**
 * Why a TLS connection stayed on user-space TLS (BoringSSL) instead of kernel TLS; each is a counter
 * {@code tls_offload.fallback.<label>}. Immutable.
 */
public enum FallbackReason {
  /** The start-up probe's {@code TCP_ULP "tls"} failed (the errno is in /server_info). */
  KERNEL_UNAVAILABLE("kernel_unavailable"),
  /** The TLS engine cannot hand over its traffic secrets (JDK TLS, or tcnative refused the key-log callback). */
  TLS_LIBRARY("tls_library"),
  /**
   * Not the epoll transport: NIO has no file descriptor to call setsockopt on; io_uring may already have
   * received ciphertext past the handshake into a buffer of a receive in flight.
   */
  TRANSPORT("transport"),
  /** A PERMISSIVE (TLS-or-plaintext) or SNI-selected-certificate listener: not switched (not implemented). */
  LISTENER("listener"),
  /**
   * The listener asks for client certificates: XFCC, RBAC principals and the SAN checks read the peer certificate
   * from the SslHandler's session for the connection's lifetime, so it stays.
   */
  CLIENT_CERTIFICATE("client_certificate"),
  /** Negotiated TLS 1.2 or older: only TLS 1.3 is switched. */
  TLS_VERSION("tls_version"),
  /** A TLS 1.3 suite the kernel does not take (only AES-128/256-GCM and ChaCha20-Poly1305 are). */
  CIPHER("cipher"),
  /** ALPN chose HTTP/2: its preface is written right after the handshake, before the switch could happen. */
  ALPN("alpn"),
  /** Ciphertext after the client's Finished had already been read, or BoringSSL held decrypted bytes. */
  BUFFERED_RECORDS("buffered_records"),
  /**
   * The handshake completed outside the read of a client record (e.g. after a delegated task), so which records
   * BoringSSL consumed past the client's Finished is unknown.
   */
  HANDSHAKE_OUTSIDE_READ("handshake_outside_read"),
  /** Application data was written through the TLS handler before the switch (the kernel's sequence would be off). */
  APP_DATA_WRITTEN("app_data_written"),
  /** The handshake's traffic secrets were not captured or did not belong to this connection. */
  SECRETS("secrets"),
  /** The kernel refused TCP_ULP or TLS_TX/TLS_RX on this connection. */
  SETSOCKOPT("setsockopt");

  /** The counter's suffix. */
  public final String label;

  FallbackReason(String label) {
    this.label = label;
  }
}
