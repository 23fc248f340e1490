package io.keelson.control.sidecar;

import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A grpc-java app for the mesh tests, without protoc (methods over UTF-8 strings): service {@code test.Echo} with
 * Unary (answers {@code <version>:<message>}; {@code fail:<text>} fails with NOT_FOUND and that description), Count
 * (server streaming: {@code n} messages), Join (client streaming: the messages joined by commas) and Chat (bidi:
 * {@code <version> echo <message>} for each, as it arrives). grpc-java's server speaks HTTP/2 only, so any answer proves
 * the last hop was HTTP/2. {@link #main} runs it as its own process (a server, or a client that makes one call of
 * each kind and prints the results), for the captured-mesh test's network namespaces. Thread-safe.
 */
final class GrpcMeshApp implements AutoCloseable {
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
  static final MethodDescriptor<String, String> UNARY = method("Unary", MethodDescriptor.MethodType.UNARY);
  static final MethodDescriptor<String, String> COUNT = method("Count", MethodDescriptor.MethodType.SERVER_STREAMING);
  static final MethodDescriptor<String, String> JOIN = method("Join", MethodDescriptor.MethodType.CLIENT_STREAMING);
  static final MethodDescriptor<String, String> CHAT = method("Chat", MethodDescriptor.MethodType.BIDI_STREAMING);

  private final String version;
  private final Server server;

  private static MethodDescriptor<String, String> method(String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.<String, String>newBuilder().setType(type)
        .setFullMethodName(MethodDescriptor.generateFullMethodName("test.Echo", name))
        .setRequestMarshaller(STRING).setResponseMarshaller(STRING).build();
  }

  /** A server on {@code host}:{@code port} (0: ephemeral) answering as {@code version}. */
  GrpcMeshApp(String version, String host, int port) throws IOException {
    this.version = version;
    ServerServiceDefinition service = ServerServiceDefinition.builder("test.Echo")
        .addMethod(UNARY, ServerCalls.asyncUnaryCall(this::unary))
        .addMethod(COUNT, ServerCalls.asyncServerStreamingCall(this::count))
        .addMethod(JOIN, ServerCalls.asyncClientStreamingCall(this::join))
        .addMethod(CHAT, ServerCalls.asyncBidiStreamingCall(this::chat))
        .build();
    server = io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder
        .forAddress(new java.net.InetSocketAddress(host, port), InsecureServerCredentials.create())
        .addService(io.grpc.ServerInterceptors.intercept(service, new io.grpc.ServerInterceptor() {
          @Override
          public <Q, A> io.grpc.ServerCall.Listener<Q> interceptCall(io.grpc.ServerCall<Q, A> call,
              io.grpc.Metadata headers, io.grpc.ServerCallHandler<Q, A> next) {
            lastHeaderKeys = Set.copyOf(headers.keys());
            return next.startCall(call, headers);
          }
        })).build().start();
  }

  /** The metadata keys of the last call the app received. */
  volatile Set<String> lastHeaderKeys = Set.of();

  int port() {
    return server.getPort();
  }

  private void unary(String request, StreamObserver<String> out) {
    if (request.startsWith("fail:")) {
      out.onError(Status.NOT_FOUND.withDescription(request.substring(5)).asRuntimeException());
      return;
    }
    out.onNext(version + ":" + request);
    out.onCompleted();
  }

  private void count(String request, StreamObserver<String> out) {
    for (int i = 0; i < Integer.parseInt(request); i++) {
      out.onNext(version + ":" + i);
    }
    out.onCompleted();
  }

  private StreamObserver<String> join(StreamObserver<String> out) {
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
        out.onNext(version + ":" + String.join(",", parts));
        out.onCompleted();
      }
    };
  }

  private StreamObserver<String> chat(StreamObserver<String> out) {
    return new StreamObserver<>() {
      @Override
      public void onNext(String value) {
        out.onNext(version + " echo " + value);
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
  }

  /** A plaintext (h2c) channel to {@code host:port} whose calls carry {@code :authority authority}. */
  static ManagedChannel channel(String host, int port, String authority) {
    return Grpc.newChannelBuilderForAddress(host, port, InsecureChannelCredentials.create())
        .overrideAuthority(authority).build();
  }

  static CallOptions deadline() {
    return CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  static String unary(ManagedChannel ch, String message) {
    return ClientCalls.blockingUnaryCall(ch, UNARY, deadline(), message);
  }

  /** The status a failing unary call ended with, as {@code CODE: description}; "OK" if it did not fail. */
  static String unaryStatus(ManagedChannel ch, String message) {
    try {
      unary(ch, message);
      return "OK";
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode() + ": " + e.getStatus().getDescription();
    }
  }

  static List<String> count(ManagedChannel ch, int n) {
    List<String> out = new ArrayList<>();
    Iterator<String> it = ClientCalls.blockingServerStreamingCall(ch, COUNT, deadline(), Integer.toString(n));
    it.forEachRemaining(out::add);
    return out;
  }

  static String join(ManagedChannel ch, String... parts) throws Exception {
    CompletableFuture<String> result = new CompletableFuture<>();
    StreamObserver<String> in = ClientCalls.asyncClientStreamingCall(ch.newCall(JOIN, deadline()), observer(result, null));
    for (String p : parts) {
      in.onNext(p);
    }
    in.onCompleted();
    return result.get(10, TimeUnit.SECONDS);
  }

  /**
   * A bidi call that sends each message only after the answer to the previous one came back: it needs a real
   * full-duplex stream through every hop (a proxy that buffers the request until its end would deadlock it).
   */
  static List<String> chat(ManagedChannel ch, String... messages) throws Exception {
    BlockingQueue<String> answers = new LinkedBlockingQueue<>();
    CompletableFuture<String> done = new CompletableFuture<>();
    StreamObserver<String> out = ClientCalls.asyncBidiStreamingCall(ch.newCall(CHAT, deadline()), observer(done, answers));
    List<String> got = new ArrayList<>();
    for (String m : messages) {
      out.onNext(m);
      String answer = answers.poll(10, TimeUnit.SECONDS);
      if (answer == null) {
        out.onError(Status.CANCELLED.asRuntimeException());
        throw new AssertionError("no answer to '" + m + "' within 10 s (after " + got + ")");
      }
      got.add(answer);
    }
    out.onCompleted();
    done.get(10, TimeUnit.SECONDS);
    return got;
  }

  private static StreamObserver<String> observer(CompletableFuture<String> result, BlockingQueue<String> each) {
    return new StreamObserver<>() {
      private String last;

      @Override
      public void onNext(String value) {
        last = value;
        if (each != null) {
          each.add(value);
        }
      }

      @Override
      public void onError(Throwable t) {
        result.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        result.complete(last == null ? "" : last);
      }
    };
  }

  /**
   * {@code server HOST PORT VERSION}: serves until killed. {@code client HOST PORT AUTHORITY}: one call of each kind,
   * each result on its own line ({@code unary=...}, {@code count=...}, {@code join=...}, {@code chat=...},
   * {@code error=...}); exit status 1 when a call failed.
   */
  public static void main(String[] args) throws Exception {
    if (args.length == 4 && args[0].equals("server")) {
      try (GrpcMeshApp app = new GrpcMeshApp(args[3], args[1], Integer.parseInt(args[2]))) {
        System.out.println("serving on " + app.port());
        app.server.awaitTermination();
      }
      return;
    }
    if (args.length != 4 || !args[0].equals("client")) {
      System.err.println("usage: server HOST PORT VERSION | client HOST PORT AUTHORITY");
      System.exit(2);
    }
    ManagedChannel ch = channel(args[1], Integer.parseInt(args[2]), args[3]);
    try {
      System.out.println("unary=" + unary(ch, "hi"));
      System.out.println("count=" + count(ch, 3));
      System.out.println("join=" + join(ch, "a", "b", "c"));
      System.out.println("chat=" + chat(ch, "x", "y"));
      System.out.println("error=" + unaryStatus(ch, "fail:gone"));
    } catch (Exception e) {
      System.out.println("failed: " + e);
      System.exit(1);
    } finally {
      ch.shutdownNow();
    }
  }
}
