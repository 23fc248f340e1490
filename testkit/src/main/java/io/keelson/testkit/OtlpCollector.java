package io.keelson.testkit;

import com.google.protobuf.CodedInputStream;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A real OTLP/gRPC trace collector in the same process: serves
 * {@code opentelemetry.proto.collector.trace.v1.TraceService/Export} on 127.0.0.1 (ephemeral port), accepts
 * every request (an empty ExportTraceServiceResponse) and counts requests and bytes. The tests' collector
 * ({@code new OtlpCollector()}) also decodes the spans from the protobuf wire format (field numbers of
 * opentelemetry-proto's trace.proto); the bench's ({@link #countingOnly()}) does not, so it costs the
 * machine under measurement next to nothing while the proxy's exporter still serializes and sends every
 * batch. Thread-safe.
 */
public final class OtlpCollector implements AutoCloseable {
  /** One received span; ids in lower-case hex, parent "" at the root. */
  public record ReceivedSpan(String traceId, String spanId, String parentSpanId, String name, int kind,
      Map<String, Object> attributes, String serviceName) {}

  public static final int KIND_SERVER = 2;

  /** The decoded spans, in arrival order; always empty for a {@link #countingOnly()} collector. */
  public final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();
  private final Server server;
  private final boolean decode;
  private final LongAdder requests = new LongAdder();
  private final LongAdder bytes = new LongAdder();

  /** A collector that decodes every span it receives into {@link #spans}. */
  public OtlpCollector() throws IOException {
    this(true);
  }

  /** A collector that only counts export requests and bytes (the bench's: nothing decoded, nothing kept). */
  public static OtlpCollector countingOnly() throws IOException {
    return new OtlpCollector(false);
  }

  private OtlpCollector(boolean decode) throws IOException {
    this.decode = decode;
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
          throw new IllegalStateException(e);
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
          try {
            if (decode) {
              decodeRequest(request);
            }
          } catch (IOException e) {
            response.onError(e);
            return;
          }
          response.onNext(new byte[0]); // an empty ExportTraceServiceResponse: everything accepted
          response.onCompleted();
        }))
        .build();
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)).addService(service).build().start();
  }

  public int port() {
    return server.getPort();
  }

  /** Export requests received so far. */
  public long requests() {
    return requests.sum();
  }

  /** Bytes of export requests received so far. */
  public long bytes() {
    return bytes.sum();
  }

  private void decodeRequest(byte[] request) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(request);
    int tag;
    while ((tag = in.readTag()) != 0) {
      if (tag >>> 3 == 1) {
        decodeResourceSpans(in.readBytes().toByteArray());
      } else {
        in.skipField(tag);
      }
    }
  }

  private void decodeResourceSpans(byte[] b) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(b);
    String service = null;
    List<byte[]> scopes = new java.util.ArrayList<>();
    int tag;
    while ((tag = in.readTag()) != 0) {
      switch (tag >>> 3) {
        case 1 -> service = (String) attributesOf(in.readBytes().toByteArray(), 1).get("service.name");
        case 2 -> scopes.add(in.readBytes().toByteArray());
        default -> in.skipField(tag);
      }
    }
    for (byte[] scope : scopes) {
      CodedInputStream s = CodedInputStream.newInstance(scope);
      while ((tag = s.readTag()) != 0) {
        if (tag >>> 3 == 2) {
          spans.add(decodeSpan(s.readBytes().toByteArray(), service));
        } else {
          s.skipField(tag);
        }
      }
    }
  }

  private static ReceivedSpan decodeSpan(byte[] b, String service) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(b);
    HexFormat hex = HexFormat.of();
    String trace = "";
    String span = "";
    String parent = "";
    String name = "";
    int kind = 0;
    Map<String, Object> attributes = new HashMap<>();
    int tag;
    while ((tag = in.readTag()) != 0) {
      switch (tag >>> 3) {
        case 1 -> trace = hex.formatHex(in.readBytes().toByteArray());
        case 2 -> span = hex.formatHex(in.readBytes().toByteArray());
        case 4 -> parent = hex.formatHex(in.readBytes().toByteArray());
        case 5 -> name = in.readString();
        case 6 -> kind = in.readEnum();
        case 9 -> keyValue(in.readBytes().toByteArray(), attributes);
        default -> in.skipField(tag);
      }
    }
    return new ReceivedSpan(trace, span, parent, name, kind, attributes, service);
  }

  /** The KeyValue list at {@code field} of a message (Resource.attributes is field 1). */
  private static Map<String, Object> attributesOf(byte[] b, int field) throws IOException {
    Map<String, Object> out = new HashMap<>();
    CodedInputStream in = CodedInputStream.newInstance(b);
    int tag;
    while ((tag = in.readTag()) != 0) {
      if (tag >>> 3 == field) {
        keyValue(in.readBytes().toByteArray(), out);
      } else {
        in.skipField(tag);
      }
    }
    return out;
  }

  private static void keyValue(byte[] b, Map<String, Object> out) throws IOException {
    CodedInputStream in = CodedInputStream.newInstance(b);
    String key = null;
    Object value = null;
    int tag;
    while ((tag = in.readTag()) != 0) {
      switch (tag >>> 3) {
        case 1 -> key = in.readString();
        case 2 -> {
          CodedInputStream v = CodedInputStream.newInstance(in.readBytes().toByteArray());
          int t;
          while ((t = v.readTag()) != 0) {
            switch (t >>> 3) {
              case 1 -> value = v.readString();
              case 2 -> value = v.readBool();
              case 3 -> value = v.readInt64();
              default -> v.skipField(t);
            }
          }
        }
        default -> in.skipField(tag);
      }
    }
    if (key != null) {
      out.put(key, value);
    }
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
