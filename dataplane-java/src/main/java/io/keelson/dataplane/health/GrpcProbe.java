package io.keelson.dataplane.health;

import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.HealthCheckConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The gRPC health checking protocol: {@code grpc.health.v1.Health/Check} over grpc-java's HTTP/2
 * client, one channel per endpoint kept between checks. The two messages are tiny, so they are
 * encoded by hand (HealthCheckRequest {string service = 1}, HealthCheckResponse {enum status = 1},
 * SERVING = 1) rather than adding the grpc-services dependency. Callbacks run on the health loop.
 */
final class GrpcProbe implements Probe {
  static final int SERVING = 1;

  static final MethodDescriptor<String, Integer> CHECK = MethodDescriptor.<String, Integer>newBuilder()
      .setType(MethodDescriptor.MethodType.UNARY)
      .setFullMethodName("grpc.health.v1.Health/Check")
      .setRequestMarshaller(new RequestMarshaller())
      .setResponseMarshaller(new ResponseMarshaller())
      .build();

  private final Executor loop;
  private final HealthCheckConfig.Grpc grpc;
  private final String authority;
  private final long timeoutNanos;
  /** The cluster: its upstream_bind_config source address for each endpoint's IP family. */
  private final io.keelson.dataplane.config.ClusterConfig cluster;
  /** Touched on the health loop only. */
  private final Map<EndpointConfig, ManagedChannel> channels = new HashMap<>();

  GrpcProbe(Executor loop, HealthCheckConfig config, io.keelson.dataplane.config.ClusterConfig cluster) {
    this.cluster = cluster;
    this.loop = loop;
    this.grpc = (HealthCheckConfig.Grpc) config.check();
    this.authority = grpc.authority() != null ? grpc.authority() : cluster.name();
    this.timeoutNanos = config.timeout().toNanos();
  }

  @Override
  public void probe(EndpointConfig endpoint, Consumer<Boolean> done) {
    ManagedChannel channel = channels.computeIfAbsent(endpoint, e -> {
      var builder = NettyChannelBuilder.forAddress(e.host(), e.port()).usePlaintext().overrideAuthority(authority);
      if (cluster.sourceAddress() != null) {
        builder.localSocketPicker(new LocalSource(cluster));
      }
      return builder.build();
    });
    var call = channel.newCall(CHECK, CallOptions.DEFAULT.withDeadlineAfter(timeoutNanos, TimeUnit.NANOSECONDS));
    var future = ClientCalls.futureUnaryCall(call, grpc.serviceName());
    future.addListener(() -> {
      boolean healthy;
      try {
        healthy = future.get() == SERVING;
      } catch (Exception e) {
        healthy = false;
      }
      done.accept(healthy);
    }, loop);
  }

  @Override
  public void close() {
    loop.execute(() -> {
      channels.values().forEach(ManagedChannel::shutdownNow);
      channels.clear();
    });
  }

  /** Binds the cluster's source address for the remote's IP family before each connect (upstream_bind_config). */
  private static final class LocalSource extends NettyChannelBuilder.LocalSocketPicker {
    private final io.keelson.dataplane.config.ClusterConfig cluster;

    LocalSource(io.keelson.dataplane.config.ClusterConfig cluster) {
      this.cluster = cluster;
    }

    @Override
    public java.net.SocketAddress createSocketAddress(java.net.SocketAddress remoteAddress, io.grpc.Attributes attrs) {
      return remoteAddress instanceof java.net.InetSocketAddress to ? cluster.sourceAddress(to) : cluster.sourceAddress();
    }
  }

  private static final class RequestMarshaller implements MethodDescriptor.Marshaller<String> {
    @Override
    public InputStream stream(String service) {
      byte[] name = service.getBytes(StandardCharsets.UTF_8);
      ByteArrayOutputStream out = new ByteArrayOutputStream(name.length + 6);
      if (name.length > 0) {
        out.write(0x0A); // field 1, length-delimited
        writeVarint(out, name.length);
        out.writeBytes(name);
      }
      return new ByteArrayInputStream(out.toByteArray());
    }

    @Override
    public String parse(InputStream stream) {
      throw new UnsupportedOperationException("client side only");
    }
  }

  private static final class ResponseMarshaller implements MethodDescriptor.Marshaller<Integer> {
    @Override
    public InputStream stream(Integer value) {
      throw new UnsupportedOperationException("client side only");
    }

    @Override
    public Integer parse(InputStream stream) {
      try {
        return status(stream.readAllBytes());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** The status field of a HealthCheckResponse (0 = UNKNOWN when absent); unknown fields are skipped. */
  static int status(byte[] b) {
    int status = 0;
    int[] at = {0};
    while (at[0] < b.length) {
      long tag = readVarint(b, at);
      int field = (int) (tag >>> 3);
      switch ((int) (tag & 7)) {
        case 0 -> {
          long v = readVarint(b, at);
          if (field == 1) {
            status = (int) v;
          }
        }
        case 1 -> at[0] += 8;
        case 2 -> at[0] += (int) readVarint(b, at);
        case 5 -> at[0] += 4;
        default -> {
          return status; // groups are not used by this message
        }
      }
    }
    return status;
  }

  private static long readVarint(byte[] b, int[] at) {
    long v = 0;
    for (int shift = 0; shift < 64 && at[0] < b.length; shift += 7) {
      byte x = b[at[0]++];
      v |= (long) (x & 0x7F) << shift;
      if (x >= 0) {
        break;
      }
    }
    return v;
  }

  private static void writeVarint(ByteArrayOutputStream out, int v) {
    while ((v & ~0x7F) != 0) {
      out.write((v & 0x7F) | 0x80);
      v >>>= 7;
    }
    out.write(v);
  }
}
