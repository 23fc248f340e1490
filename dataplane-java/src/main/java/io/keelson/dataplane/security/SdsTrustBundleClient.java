package io.keelson.dataplane.security;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Follows the mesh trust bundle over SDS: one state-of-the-world ADS stream subscribed to the
 * {@code Secret} named {@code ROOTCA}, ACKing good versions and NACKing bad ones with the reason.
 * It runs beside the main xDS client (which does not subscribe to secrets yet) on the same
 * authenticated channel settings; the node is sent without registration metadata so it does not
 * register the workload twice. Reconnects after 1 s on errors. Thread-safe: callbacks run on
 * gRPC's executor; the consumer is called on it.
 */
public final class SdsTrustBundleClient implements AutoCloseable {
  public static final String ROOTCA = "ROOTCA";
  static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

  private final ManagedChannel channel;
  private final Node node;
  private final Consumer<List<X509Certificate>> consumer;
  private final ScheduledExecutorService retry = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keelson-sds-retry");
    t.setDaemon(true);
    return t;
  });
  private final LongAdder accepted = new LongAdder();
  private final LongAdder rejected = new LongAdder();
  private volatile boolean closed;

  public SdsTrustBundleClient(String host, int port, ControlPlaneCredentials credentials, String nodeId,
      Consumer<List<X509Certificate>> consumer) {
    this.channel = credentials.apply(NettyChannelBuilder.forAddress(host, port)).build();
    this.node = Node.newBuilder().setId(nodeId).build();
    this.consumer = consumer;
  }

  public SdsTrustBundleClient start() {
    open();
    return this;
  }

  public long accepted() {
    return accepted.sum();
  }

  public long rejected() {
    return rejected.sum();
  }

  private void open() {
    if (closed) {
      return;
    }
    final StreamObserver<DiscoveryRequest>[] out = new StreamObserver[1];
    out[0] = AggregatedDiscoveryServiceGrpc.newStub(channel).streamAggregatedResources(new StreamObserver<>() {
      private String acked = "";

      @Override
      public void onNext(DiscoveryResponse r) {
        DiscoveryRequest.Builder ack = DiscoveryRequest.newBuilder().setTypeUrl(SECRET_TYPE).addResourceNames(ROOTCA)
            .setResponseNonce(r.getNonce());
        try {
          List<X509Certificate> roots = null;
          for (var any : r.getResourcesList()) {
            Secret s = any.unpack(Secret.class);
            if (s.getName().equals(ROOTCA)) {
              roots = TrustBundleSecrets.roots(s);
            }
          }
          if (roots != null) {
            consumer.accept(roots);
          }
          accepted.increment();
          acked = r.getVersionInfo();
          out[0].onNext(ack.setVersionInfo(acked).build());
        } catch (Exception e) {
          rejected.increment();
          out[0].onNext(ack.setVersionInfo(acked).setErrorDetail(com.google.rpc.Status.newBuilder()
              .setCode(3).setMessage(String.valueOf(e.getMessage()))).build());
        }
      }

      @Override
      public void onError(Throwable t) {
        if (!closed) {
          retry.schedule(SdsTrustBundleClient.this::open, 1, TimeUnit.SECONDS);
        }
      }

      @Override
      public void onCompleted() {
        onError(null);
      }
    });
    out[0].onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(SECRET_TYPE).addResourceNames(ROOTCA).build());
  }

  @Override
  public void close() {
    closed = true;
    retry.shutdownNow();
    channel.shutdownNow();
  }
}
