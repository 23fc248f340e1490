package io.keelson.control.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ForwardingServerCall;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.MetadataUtils;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.control.xds.Mesh;
import io.keelson.control.xds.XdsServer;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Interop with code no one here wrote: grpc-java's own xDS client (proxyless gRPC) resolves
 * {@code xds:///product-service} against Keelson's control plane and follows its weighted split.
 */
class GrpcXdsInteropTest {
  private static final Metadata.Key<String> UPSTREAM = Metadata.Key.of("x-upstream", Metadata.ASCII_STRING_MARSHALLER);

  private static Server backend(String name) throws Exception {
    ServerInterceptor tag = new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
          @Override
          public void sendHeaders(Metadata h) {
            h.put(UPSTREAM, name);
            super.sendHeaders(h);
          }
        }, headers);
      }
    };
    return NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(ServerInterceptors.intercept(new HealthStatusManager().getHealthService(), tag))
        .build().start();
  }

  private static int port(Server s) {
    return ((InetSocketAddress) s.getListenSockets().getFirst()).getPort();
  }

  @Test
  void grpcJavasXdsClientFollowsTheCanarySplitAndItsShift() throws Exception {
    Server v1 = backend("v1");
    Server v2 = backend("v2");
    PolicyStore store = new PolicyStore();
    Mesh.applyCanary(store, port(v1), port(v2));
    ManagedChannel channel = null;
    try (XdsServer xds = new XdsServer(store, 15001).start("127.0.0.1", 0)) {
      System.setProperty("io.grpc.xds.bootstrapConfig", """
          {
            "xds_servers": [ { "server_uri": "127.0.0.1:%d", "channel_creds": [ { "type": "insecure" } ],
                               "server_features": [ "xds_v3" ] } ],
            "node": { "id": "grpc-client", "cluster": "frontend" }
          }
          """.formatted(xds.port()));
      channel = Grpc.newChannelBuilder("xds:///product-service", InsecureChannelCredentials.create()).build();
      ManagedChannel ch = channel;

      Map<String, Integer> split = count(ch, 1000);
      assertThat(split.getOrDefault("v2", 0)).as("v2 of 1000 at 90/10: %s", split).isBetween(50, 150);
      assertThat(xds.status()).anySatisfy(s -> {
        assertThat(s.nodeId()).isEqualTo("grpc-client");
        assertThat(s.proxyless()).isTrue();
      });

      store.apply(PolicyParser.parse("vs.yaml", Mesh.split(0, 100)).policies(), false);
      await().atMost(Duration.ofSeconds(10)).until(() -> count(ch, 50).getOrDefault("v1", 0) == 0);
      assertThat(count(ch, 500)).containsOnlyKeys("v2");
      String routes = xds.status().stream().filter(s -> s.nodeId().equals("grpc-client")).findFirst().orElseThrow()
          .types().get("routes").state();
      assertThat(routes).isEqualTo("ACK");
    } finally {
      System.clearProperty("io.grpc.xds.bootstrapConfig");
      if (channel != null) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      v1.shutdownNow();
      v2.shutdownNow();
    }
  }

  private static Map<String, Integer> count(ManagedChannel ch, int n) {
    Map<String, Integer> out = new HashMap<>();
    for (int i = 0; i < n; i++) {
      AtomicReference<Metadata> headers = new AtomicReference<>();
      AtomicReference<Metadata> trailers = new AtomicReference<>();
      HealthGrpc.newBlockingStub(ch)
          .withInterceptors(MetadataUtils.newCaptureMetadataInterceptor(headers, trailers))
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance());
      out.merge(headers.get().get(UPSTREAM), 1, Integer::sum);
    }
    return out;
  }
}
