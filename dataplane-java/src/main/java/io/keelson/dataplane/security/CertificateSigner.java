package io.keelson.dataplane.security;

import java.time.Duration;
import java.util.List;

/**
 * Sends a CSR to the CA and returns its answer: PEM certificates, leaf first, root last (Istio's
 * CreateCertificate shape). Implementations: {@link CertificateServiceClient} over gRPC; the control
 * plane signs its own serving certificate in-process. Called from the rotator's thread.
 */
@FunctionalInterface
public interface CertificateSigner {
  List<String> sign(String csrPem, Duration validity) throws Exception;
}
