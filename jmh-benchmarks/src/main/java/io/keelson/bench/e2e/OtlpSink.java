package io.keelson.bench.e2e;

import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The OTLP/gRPC collector of the traced bench scenarios: serves
 * {@code opentelemetry.proto.collector.trace.v1.TraceService/Export} on 127.0.0.1, accepts every request
 * (an empty ExportTraceServiceResponse) without decoding it, and counts requests and bytes, so the proxy's
 * exporter really serializes and sends its batches. On close it writes the counts to {@code report}.
 * Thread-safe.
 */
final class OtlpSink implements AutoCloseable {
  private final Server server;
  private final Path report;
  private final LongAdder requests = new LongAdder();
  private final LongAdder bytes = new LongAdder();

  OtlpSink(Path report) throws IOException {
    this.report = report;
    MethodDescriptor.Marshaller<byte[]> raw = new MethodDescriptor.Marshaller<>() {
      @Override
      public InputStream stream(byte[] value) {
        return new ByteArrayInputStream(value);
      }

      @Override
      public byte[] parse(InputStream stream) {
        try {
          return stream.readAllBytes();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    };
    MethodDescriptor<byte[], byte[]> export = MethodDescriptor.<byte[], byte[]>newBuilder()
        .setType(MethodDescriptor.MethodType.UNARY)
        .setFullMethodName("opentelemetry.proto.collector.trace.v1.TraceService/Export")
        .setRequestMarshaller(raw).setResponseMarshaller(raw).build();
    ServerServiceDefinition service = ServerServiceDefinition.builder("opentelemetry.proto.collector.trace.v1.TraceService")
        .addMethod(export, ServerCalls.asyncUnaryCall((request, response) -> {
          requests.increment();
          bytes.add(request.length);
          response.onNext(new byte[0]);
          response.onCompleted();
        }))
        .build();
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service).build().start();
  }

  int port() {
    return server.getPort();
  }

  long requests() {
    return requests.sum();
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    try {
      Files.writeString(report, "OTLP export requests received: " + requests.sum() + ", bytes: " + bytes.sum() + "\n");
    } catch (IOException e) {
      // the report is informational; the measurement stands without it
    }
  }
}
