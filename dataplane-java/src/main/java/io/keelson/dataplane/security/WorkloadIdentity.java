package io.keelson.dataplane.security;

import java.time.Duration;

/**
 * A proxy's mesh identity, wired end to end: the rotating certificate obtained by CSR from the
 * control plane's certificate service, and the trust bundle followed over SDS, both on the secure
 * port with the join token. {@link #source()} is what TLS contexts subscribe to. Thread-safe.
 */
public final class WorkloadIdentity implements AutoCloseable {
  private final CertificateServiceClient client;
  private final CertificateRotator rotator;
  private final SdsTrustBundleClient sds;

  private WorkloadIdentity(CertificateServiceClient client, CertificateRotator rotator, SdsTrustBundleClient sds) {
    this.client = client;
    this.rotator = rotator;
    this.sds = sds;
  }

  /**
   * Obtains the first certificate (blocking; throws the control plane's refusal, e.g. UNAUTHENTICATED
   * for a bad token) and starts rotation and the SDS subscription.
   */
  public static WorkloadIdentity start(String host, int port, ControlPlaneCredentials credentials, String nodeId,
      Duration requestedTtl, double rotationFraction) throws Exception {
    CertificateServiceClient client = new CertificateServiceClient(host, port, credentials);
    CertificateRotator rotator = new CertificateRotator(client, requestedTtl, rotationFraction, java.time.Clock.systemUTC());
    try {
      rotator.start();
    } catch (Exception e) {
      rotator.close();
      client.close();
      throw e;
    }
    SdsTrustBundleClient sds = new SdsTrustBundleClient(host, port, credentials, nodeId + "~sds",
        rotator::updateTrustBundle).start();
    return new WorkloadIdentity(client, rotator, sds);
  }

  public CertificateSource source() {
    return rotator;
  }

  public CertificateRotator rotator() {
    return rotator;
  }

  public SdsTrustBundleClient sds() {
    return sds;
  }

  @Override
  public void close() {
    sds.close();
    rotator.close();
    client.close();
  }
}
