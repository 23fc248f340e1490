package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.Pem;
import io.keelson.dataplane.security.ControlPlaneCredentials;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway reconnecting opens its new stream before the old one's close arrives: the close of the old stream must
 * not tear down the node id the new one holds (it stays a gateway, and a plaintext stream claiming its node id is
 * still refused). Raw ADS streams against a real control plane, on the authenticated and the plaintext port.
 */
class NodeHoldReconnectTest {
  @TempDir
  Path dir;

  private static final String NODE = "gw~reconnect";

  @Test
  void closingTheOldStreamAfterTheNewOneOpenedKeepsTheNodeHeldAndAGateway() throws Exception {
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001,
        CaOptions.selfSigned(null), 0))) {
      Path root = dir.resolve("root.pem");
      Files.writeString(root, Pem.encode(cp.security.ca().roots().getFirst()));
      String token = cp.security.tokens().create("istio-system", "ingress", null).token();
      Stream s1 = Stream.open(new ControlPlaneCredentials(root, token).apply(
          NettyChannelBuilder.forAddress("127.0.0.1", cp.security.securePort().port())).build(), true);
      await().atMost(Duration.ofSeconds(10)).until(() -> s1.responses.get() > 0);
      // The reconnect: S2 has taken the node id but is not yet visible when S1's close arrives. The hook closes S1
      // and gives its close up to 2 s to run (the fixed server makes it wait for S2's registration instead).
      AtomicInteger hooked = new AtomicInteger();
      cp.xds.afterHoldForTest = id -> {
        if (!id.equals(NODE) || hooked.getAndIncrement() > 0) {
          return;
        }
        s1.close();
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < until && cp.xds.status().stream().anyMatch(st -> st.nodeId().equals(NODE))) {
          Thread.onSpinWait();
        }
        try {
          Thread.sleep(300); // the old close's teardown follows the stream's removal: a bounded look
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      };
      Stream s2 = Stream.open(new ControlPlaneCredentials(root, token).apply(
          NettyChannelBuilder.forAddress("127.0.0.1", cp.security.securePort().port())).build(), true);
      await().atMost(Duration.ofSeconds(10)).until(() -> s2.responses.get() > 0);
      cp.xds.afterHoldForTest = null;
      assertThat(hooked.get()).as("the hook ran on S2's open").isEqualTo(1);
      await().atMost(Duration.ofSeconds(10))
          .until(() -> cp.xds.status().stream().filter(st -> st.nodeId().equals(NODE)).count() == 1);

      assertThat(cp.xds.status()).filteredOn(st -> st.nodeId().equals(NODE)).singleElement()
          .satisfies(st -> assertThat(st.gateway()).as("still served as a gateway").isNotNull());
      Stream plaintext = Stream.open(NettyChannelBuilder.forAddress("127.0.0.1", cp.xds.port()).usePlaintext().build(),
          false);
      try {
        await().atMost(Duration.ofSeconds(10)).until(() -> plaintext.error.get() != null);
        assertThat(plaintext.error.get().getMessage()).contains("PERMISSION_DENIED").contains("in use by an open stream");
        assertThat(plaintext.responses.get()).isZero();
      } finally {
        plaintext.close();
        s2.close();
      }
      // After the last stream closed the node id is free again: the plaintext port may claim it.
      await().atMost(Duration.ofSeconds(10))
          .until(() -> cp.xds.status().stream().noneMatch(st -> st.nodeId().equals(NODE)));
      Stream free = Stream.open(NettyChannelBuilder.forAddress("127.0.0.1", cp.xds.port()).usePlaintext().build(),
          false);
      try {
        await().atMost(Duration.ofSeconds(10)).until(() -> free.responses.get() > 0);
        assertThat(free.error.get()).isNull();
      } finally {
        free.close();
      }
    }
  }

  /** One raw ADS stream of a node asking for listeners; counts responses, keeps the error. */
  record Stream(ManagedChannel channel, StreamObserver<DiscoveryRequest> requests, AtomicInteger responses,
      AtomicReference<Throwable> error) {
    /** Node {@link #NODE}, a gateway or not. */
    static Stream open(ManagedChannel channel, boolean gateway) {
      var node = Node.newBuilder().setId(NODE).setCluster("ingress");
      if (gateway) {
        node.setMetadata(Struct.newBuilder()
            .putFields("keelson.io/gateway", Value.newBuilder().setBoolValue(true).build())
            .putFields("keelson.io/gateway-address", Value.newBuilder().setStringValue("127.0.0.1").build())
            .putFields("keelson.io/labels", Value.newBuilder().setStructValue(Struct.newBuilder().putFields("istio",
                Value.newBuilder().setStringValue("ingressgateway").build())).build()));
      }
      return open(channel, node.build());
    }

    static Stream open(ManagedChannel channel, Node node) {
      AtomicInteger responses = new AtomicInteger();
      AtomicReference<Throwable> error = new AtomicReference<>();
      var requests = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
        @Override
        public void onNext(DiscoveryResponse r) {
          responses.incrementAndGet();
        }

        @Override
        public void onError(Throwable t) {
          error.set(t);
        }

        @Override
        public void onCompleted() {}
      });
      requests.onNext(DiscoveryRequest.newBuilder().setNode(node)
          .setTypeUrl("type.googleapis.com/envoy.config.listener.v3.Listener").build());
      return new Stream(channel, requests, responses, error);
    }

    void close() {
      try {
        requests.onCompleted();
      } catch (RuntimeException e) {
        // already closed by the server
      }
      channel.shutdownNow();
    }
  }
}
