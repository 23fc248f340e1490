/**
 * Kernel TLS (kTLS) offload for server-side TLS 1.3: the start-up probe ({@link
 * io.keelson.dataplane.tls.offload.KernelTlsProbe}), the {@code --tls-offload off|auto|require} policy and its
 * counters ({@link io.keelson.dataplane.tls.offload.TlsOffload}), the TLS 1.3 key schedule and the kernel's
 * {@code crypto_info} encoding, the BoringSSL traffic-secret capture, and the per-connection switch
 * ({@link io.keelson.dataplane.tls.offload.KernelTlsSwitch}) that hands a connection's record layer to the
 * kernel and takes Netty's SslHandler out. Native calls go through {@code internal.ffm.KernelTls}. The switch
 * runs only after the probe succeeded; it has not been verified on a kernel with TLS (docs/protocols-tls-l4.md).
 */
package io.keelson.dataplane.tls.offload;
