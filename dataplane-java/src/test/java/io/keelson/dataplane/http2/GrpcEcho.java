package io.keelson.dataplane.http2;

import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A tiny gRPC service without protoc: hand-written method descriptors over UTF-8 strings. Unary
 * (echo, "fail:msg", "sleep:ms"), server streaming ("n" messages, or "forever"), client streaming
 * (joins), bidi (echoes each). Counts calls the client or the proxy cancelled. Thread-safe.
 */
public final class GrpcEcho implements AutoCloseable {
  static final MethodDescriptor.Marshaller<String> STRING = new MethodDescriptor.Marshaller<>() {
    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  };

  public static final MethodDescriptor<String, String> UNARY = method("test.Echo", "Unary", MethodDescriptor.MethodType.UNARY);
  static final MethodDescriptor<String, String> COUNT = method("test.Echo", "Count", MethodDescriptor.MethodType.SERVER_STREAMING);
  static final MethodDescriptor<String, String> JOIN = method("test.Echo", "Join", MethodDescriptor.MethodType.CLIENT_STREAMING);
  static final MethodDescriptor<String, String> CHAT = method("test.Echo", "Chat", MethodDescriptor.MethodType.BIDI_STREAMING);
  static final MethodDescriptor<String, String> MISSING = method("test.Missing", "Call", MethodDescriptor.MethodType.UNARY);
  static final MethodDescriptor<String, String> DEAD = method("dead.Service", "Call", MethodDescriptor.MethodType.UNARY);

  final AtomicInteger cancelled = new AtomicInteger();
  final AtomicInteger calls = new AtomicInteger();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final Server server;

  static MethodDescriptor<String, String> method(String service, String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<String, String>newBuilder().setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName(service, name))
        .setRequestMarshaller(STRING).setResponseMarshaller(STRING).build();
  }

  public GrpcEcho() throws IOException {
    this(InsecureServerCredentials.create());
  }

  /** With {@code credentials}, e.g. TLS for an HTTP/2-over-TLS cluster. */
  GrpcEcho(io.grpc.ServerCredentials credentials) throws IOException {
    ServerServiceDefinition service = ServerServiceDefinition.builder("test.Echo")
        .addMethod(UNARY, ServerCalls.asyncUnaryCall(this::unary))
        .addMethod(COUNT, ServerCalls.asyncServerStreamingCall(this::count))
        .addMethod(JOIN, ServerCalls.asyncClientStreamingCall(this::join))
        .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(this::chat))
        .build();
    io.grpc.ServerInterceptor seen = new io.grpc.ServerInterceptor() {
      @Override
      public <Q, R> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, R> call, io.grpc.Metadata headers,
          io.grpc.ServerCallHandler<Q, R> next) {
        lastAuthority = call.getAuthority();
        lastHeaders = headers;
        return next.startCall(call, headers);
      }
    };
    server = Grpc.newServerBuilderForPort(0, credentials).addService(io.grpc.ServerInterceptors.intercept(service, seen))
        .build().start();
  }

  public int port() {
    return server.getPort();
  }

  private void watchCancel(StreamObserver<String> out) {
    calls.incrementAndGet();
    ((ServerCallStreamObserver<String>) out).setOnCancelHandler(cancelled::incrementAndGet);
  }

  /** The request metadata of the last call. */
  volatile io.grpc.Metadata lastHeaders;
  /** The :authority of the last call. */
  volatile String lastAuthority;
  /** The message of the last unary call. */
  volatile String lastUnary;
  /** Every unary request's payload, in arrival order (recorded after {@link #calls} counts the call). */
  final java.util.Queue<String> unaries = new java.util.concurrent.ConcurrentLinkedQueue<>();

  /** When set, every unary call fails with it (a trailers-only response). */
  volatile Status failUnary;

  private void unary(String request, StreamObserver<String> out) {
    lastUnary = request;
    unaries.add(request);
    watchCancel(out);
    Status fail = failUnary;
    if (fail != null) {
      out.onError(fail.asRuntimeException());
    } else if (request.startsWith("fail:")) {
      out.onError(Status.NOT_FOUND.withDescription(request.substring(5)).asRuntimeException());
    } else if (request.startsWith("sleep:")) {
      timer.schedule(() -> {
        if (!((ServerCallStreamObserver<String>) out).isCancelled()) {
          out.onNext("slept");
          out.onCompleted();
        }
      }, Long.parseLong(request.substring(6)), TimeUnit.MILLISECONDS);
    } else {
      out.onNext(request);
      out.onCompleted();
    }
  }

  private void count(String request, StreamObserver<String> out) {
    watchCancel(out);
    ServerCallStreamObserver<String> s = (ServerCallStreamObserver<String>) out;
    if (request.equals("forever")) {
      int[] i = {0};
      Runnable[] tick = new Runnable[1];
      tick[0] = () -> {
        if (s.isCancelled()) {
          return;
        }
        out.onNext("tick " + i[0]++);
        timer.schedule(tick[0], 10, TimeUnit.MILLISECONDS);
      };
      tick[0].run();
      return;
    }
    int n = Integer.parseInt(request);
    for (int i = 0; i < n; i++) {
      out.onNext(Integer.toString(i));
    }
    out.onCompleted();
  }

  private StreamObserver<String> join(StreamObserver<String> out) {
    watchCancel(out);
    List<String> parts = new ArrayList<>();
    return new StreamObserver<>() {
      @Override
      public void onNext(String value) {
        parts.add(value);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        out.onNext(String.join(",", parts));
        out.onCompleted();
      }
    };
  }

  private StreamObserver<String> chat(StreamObserver<String> out) {
    watchCancel(out);
    return new StreamObserver<>() {
      @Override
      public void onNext(String value) {
        out.onNext("echo " + value);
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {
        out.onCompleted();
      }
    };
  }

  @Override
  public void close() {
    server.shutdownNow();
    timer.shutdownNow();
  }
}
