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
 * Served only behind {@link TokenAuthentication}: the SPIFFE ID comes from the caller's join token,
 * whatever the CSR says. Thread-safe (the CA is).
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
