package io.keelson.control.ca;

import io.keelson.dataplane.security.CertificateRequests;
import io.keelson.dataplane.security.CertificateRotator;
import io.keelson.dataplane.security.SpiffeId;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * The control plane's own certificate for its secure port: SPIFFE ID
 * {@code spiffe://<td>/ns/keelson-system/sa/keelson-control} plus the DNS and IP names proxies dial
 * ({@code localhost}, {@code keelson-control}, 127.0.0.1, ::1 and the bind address), issued by the
 * mesh CA in-process and rotated by the same {@link CertificateRotator} the proxies use. Stateless.
 */
public final class ControlPlaneIdentity {
  public static final String NAMESPACE = "keelson-system";
  public static final String SERVICE_ACCOUNT = "keelson-control";

  private ControlPlaneIdentity() {}

  public static CertificateRotator start(MeshCa ca, String bind) throws Exception {
    SpiffeId id = ca.identity(NAMESPACE, SERVICE_ACCOUNT);
    LinkedHashSet<String> names = new LinkedHashSet<>(List.of("localhost", "keelson-control", "127.0.0.1", "::1"));
    if (!bind.equals("0.0.0.0") && !bind.equals("::")) {
      names.add(bind);
    }
    List<String> hostNames = new ArrayList<>(names);
    return new CertificateRotator((csrPem, ttl) -> ca.sign(CertificateRequests.pemBody(csrPem), id, ttl, hostNames)
        .stream().map(Pem::encode).toList(), null, CertificateRotator.DEFAULT_ROTATION_FRACTION, Clock.systemUTC())
        .start();
  }
}
