package io.keelson.control.ca;

import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.keelson.control.auth.JoinTokens;
import io.keelson.control.auth.TokenAuthentication;
import io.keelson.dataplane.security.CertificateRequests;
import io.keelson.dataplane.security.CertificateServiceProtocol;
import io.keelson.dataplane.security.SpiffeId;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's side of the CSR exchange ({@code istio.v1.auth.IstioCertificateService/CreateCertificate}).
 * Served only behind {@link TokenAuthentication}: the SPIFFE ID comes from the caller's join token. A CSR
 * may leave its SANs empty (Keelson's proxies do); one that names a URI SAN other than the token's
 * identity is refused with PERMISSION_DENIED (as Istio refuses a CSR whose identity is not the caller's).
 * Thread-safe (the CA is).
 */
public final class CertificateService {
  private static final Logger LOG = LoggerFactory.getLogger(CertificateService.class);
  private final MeshCa ca;
  private final LongAdder issued = new LongAdder();
  private final LongAdder refused = new LongAdder();

  public CertificateService(MeshCa ca) {
    this.ca = ca;
  }

  public ServerServiceDefinition definition() {
    return ServerServiceDefinition.builder(CertificateServiceProtocol.SERVICE)
        .addMethod(CertificateServiceProtocol.CREATE_CERTIFICATE, ServerCalls.asyncUnaryCall(this::create))
        .build();
  }

  public long issued() {
    return issued.sum();
  }

  public long refused() {
    return refused.sum();
  }

  private void create(CertificateServiceProtocol.Request req, StreamObserver<CertificateServiceProtocol.Response> out) {
    JoinTokens.Binding who = TokenAuthentication.BINDING.get();
    if (who == null) {
      refused.increment();
      out.onError(Status.UNAUTHENTICATED.withDescription("no authenticated identity").asRuntimeException());
      return;
    }
    try {
      SpiffeId id = ca.identity(who.namespace(), who.serviceAccount());
      byte[] der = CertificateRequests.pemBody(req.csrPem());
      String other = CsrIdentities.otherThan(der, id.toString());
      if (other != null) {
        refused.increment();
        LOG.warn("refused a certificate for {} to join token {}, which grants {}", other, who.tokenId(), id);
        out.onError(Status.PERMISSION_DENIED.withDescription("the certificate signing request asks for " + other
            + " but join token " + who.tokenId() + " grants " + id + " only; create a token for that namespace and"
            + " service account (bin/keelson token create --namespace NS --service-account SA)").asRuntimeException());
        return;
      }
      List<X509Certificate> chain = ca.sign(der, id,
          req.validitySeconds() > 0 ? Duration.ofSeconds(req.validitySeconds()) : null);
      issued.increment();
      LOG.debug("issued {} to token {} until {}", id, who.tokenId(), chain.getFirst().getNotAfter().toInstant());
      out.onNext(new CertificateServiceProtocol.Response(chain.stream().map(Pem::encode).toList()));
      out.onCompleted();
    } catch (CaException | IllegalArgumentException e) {
      refused.increment();
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
    }
  }
}
