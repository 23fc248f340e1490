package io.keelson.control.auth;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.keelson.dataplane.security.CertificateSource;
import io.keelson.dataplane.security.RotatingKeyManager;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane's secure port (Istio's {@code :15012}): ADS and the certificate service over TLS,
 * with the control plane's own certificate from the mesh CA (rotated like any workload's: the key
 * manager reads the current one per handshake), and every call authenticated by a join token.
 * Thread-safe.
 */
public final class SecureXdsPort implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SecureXdsPort.class);
  private final Server server;

  private SecureXdsPort(Server server) {
    this.server = server;
  }

  public static SecureXdsPort start(String host, int port, CertificateSource identity, TokenAuthentication auth,
      BindableService ads, ServerServiceDefinition certificates) throws IOException {
    Server s = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .sslContext(GrpcSslContexts.configure(SslContextBuilder.forServer(new RotatingKeyManager(identity))).build())
        .addService(ServerInterceptors.intercept(ads, auth))
        .addService(ServerInterceptors.intercept(certificates, auth))
        .permitKeepAliveWithoutCalls(true)
        .build()
        .start();
    SecureXdsPort p = new SecureXdsPort(s);
    LOG.info("secure xDS and certificate service (TLS, join tokens) listening on {}:{}", host, p.port());
    return p;
  }

  public int port() {
    return ((InetSocketAddress) server.getListenSockets().getFirst()).getPort();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }
}
