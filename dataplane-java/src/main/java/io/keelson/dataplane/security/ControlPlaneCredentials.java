package io.keelson.dataplane.security;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How a proxy proves itself to the control plane and checks the control plane back: a join token,
 * sent as {@code authorization: Bearer <token>} on every call (xDS and the certificate service), and
 * the mesh root obtained out of band (a PEM file) that the control plane's TLS certificate on
 * {@code :15012} must chain to. Immutable.
 *
 * @param rootCaFile PEM roots to verify the control plane with, or null for plaintext (port 15010, no token checks)
 * @param joinToken  the token text ({@code kjt.…}), or null
 */
public record ControlPlaneCredentials(Path rootCaFile, String joinToken) {
  public static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /** Reads the token from a file (trimmed), as sidecars get it mounted. */
  public static ControlPlaneCredentials of(Path rootCaFile, Path tokenFile) {
    try {
      return new ControlPlaneCredentials(rootCaFile, tokenFile == null ? null : Files.readString(tokenFile).trim());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the join token file " + tokenFile + ": " + e.getMessage(), e);
    }
  }

  /** Configures TLS (when a root is given) and the token on a channel builder. */
  public NettyChannelBuilder apply(NettyChannelBuilder b) {
    if (rootCaFile != null) {
      try {
        b.sslContext(GrpcSslContexts.forClient().trustManager(rootCaFile.toFile()).build());
      } catch (IOException | IllegalArgumentException e) {
        throw new IllegalArgumentException("cannot use " + rootCaFile + " as the control plane's root CA: "
            + e.getMessage(), e);
      }
    } else {
      b.usePlaintext();
    }
    if (joinToken != null) {
      b.intercept(new BearerToken(joinToken));
    }
    return b;
  }

  private static final class BearerToken implements ClientInterceptor {
    private final String header;

    BearerToken(String token) {
      this.header = "Bearer " + token;
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
      return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, Metadata headers) {
          headers.put(AUTHORIZATION, header);
          super.start(listener, headers);
        }
      };
    }
  }

  @Override
  public String toString() {
    return "ControlPlaneCredentials[rootCaFile=" + rootCaFile + ", joinToken=" + (joinToken == null ? "none" : "(set)") + "]";
  }
}
