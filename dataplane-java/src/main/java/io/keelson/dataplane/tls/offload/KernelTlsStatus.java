package io.keelson.dataplane.tls.offload;

/**
 * What the start-up probe found. Immutable.
 *
 * @param probed          false when {@code --tls-offload off} (nothing was asked of the kernel)
 * @param kernelAvailable the kernel accepted {@code setsockopt(SOL_TCP, TCP_ULP, "tls")} on a connected socket
 * @param errno           the kernel's errno when it did not (0 otherwise, or -1 when the probe itself failed)
 * @param kernelReason    what the answer means, for a person
 * @param secretsExport   the TLS library can hand its TLS 1.3 traffic secrets over (BoringSSL's key-log callback)
 * @param secretsReason   why not, or which library does
 */
public record KernelTlsStatus(boolean probed, boolean kernelAvailable, int errno, String kernelReason,
    boolean secretsExport, String secretsReason) {

  static final KernelTlsStatus NOT_PROBED =
      new KernelTlsStatus(false, false, 0, "not probed (--tls-offload off)", false, "not checked (--tls-offload off)");

  /** Both halves hold: connections may be switched to kernel TLS. */
  public boolean usable() {
    return kernelAvailable && secretsExport;
  }
}
