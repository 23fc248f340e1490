package io.keelson.control.auth;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * gRPC server interceptor: every call must carry {@code authorization: Bearer <join token>}; a call
 * without a valid token is closed with UNAUTHENTICATED before any handler sees it (no configuration,
 * no certificate). The verified binding is in {@link #BINDING} for the handler. Thread-safe.
 */
public final class TokenAuthentication implements ServerInterceptor {
  public static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  public static final Context.Key<JoinTokens.Binding> BINDING = Context.key("keelson-join-token");

  private final JoinTokens tokens;
  private final LongAdder rejected = new LongAdder();

  public TokenAuthentication(JoinTokens tokens) {
    this.tokens = tokens;
  }

  /** Calls refused for a missing or invalid token since start. */
  public long rejected() {
    return rejected.sum();
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String h = headers.get(AUTHORIZATION);
    Optional<JoinTokens.Binding> b = Optional.empty();
    if (h != null && h.regionMatches(true, 0, "Bearer ", 0, 7)) {
      b = tokens.verify(h.substring(7).trim());
    }
    if (b.isEmpty()) {
      rejected.increment();
      call.close(Status.UNAUTHENTICATED.withDescription(h == null
          ? "no join token: send 'authorization: Bearer <token>' (bin/keelson token create)"
          : "join token is not valid (unknown, revoked, expired or malformed)"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return Contexts.interceptCall(Context.current().withValue(BINDING, b.get()), call, headers, next);
  }
}
