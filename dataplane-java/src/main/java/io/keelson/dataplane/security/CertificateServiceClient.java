package io.keelson.dataplane.security;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The proxy's side of the CSR exchange: {@code CreateCertificate} on the control plane's secure
 * port, authenticated by the join token. Only the CSR leaves the process. Thread-safe (one channel).
 */
public final class CertificateServiceClient implements CertificateSigner, AutoCloseable {
  static final Duration DEADLINE = Duration.ofSeconds(30);
  private final ManagedChannel channel;

  public CertificateServiceClient(String host, int port, ControlPlaneCredentials credentials) {
    this.channel = credentials.apply(NettyChannelBuilder.forAddress(host, port)).build();
  }

  @Override
  public List<String> sign(String csrPem, Duration validity) {
    CertificateServiceProtocol.Response r = ClientCalls.blockingUnaryCall(channel,
        CertificateServiceProtocol.CREATE_CERTIFICATE,
        CallOptions.DEFAULT.withDeadlineAfter(DEADLINE.toMillis(), TimeUnit.MILLISECONDS),
        new CertificateServiceProtocol.Request(csrPem, validity == null ? 0 : validity.toSeconds()));
    return r.certChain();
  }

  @Override
  public void close() {
    channel.shutdownNow();
  }
}
