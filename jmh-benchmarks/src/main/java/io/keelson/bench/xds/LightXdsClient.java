package io.keelson.bench.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;

/**
 * A simulated proxy: one ADS stream (state of the world) that subscribes to listeners, the
 * {@code outbound} routes, clusters and their endpoints, ACKs every response and keeps only the
 * versions it ACKed (no translation; only the clusters' resources are even parsed, see
 * {@link LightResponseMarshaller}), so a thousand fit in one JVM. Callbacks run on gRPC threads;
 * the ACKed versions are safe to read from any thread.
 */
final class LightXdsClient extends SimulatedProxy implements StreamObserver<DiscoveryResponse> {
  static final String LDS = "type.googleapis.com/envoy.config.listener.v3.Listener";
  static final String RDS = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration";
  static final String CDS = "type.googleapis.com/envoy.config.cluster.v3.Cluster";
  static final String EDS = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

  private final Node node;
  private StreamObserver<DiscoveryRequest> requests;
  // The endpoint lists subscribed to (the EDS clusters' names): every EDS ACK repeats them, as Envoy's do.
  private List<String> edsNames = List.of();

  LightXdsClient(String id) {
    this.node = Node.newBuilder().setId(id).setCluster("bench").build();
  }

  @Override
  void start(ManagedChannel channel) {
    var method = AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod();
    var light = method.toBuilder(method.getRequestMarshaller(),
        new LightResponseMarshaller(method.getResponseMarshaller(), CDS)).build();
    requests = io.grpc.stub.ClientCalls.asyncBidiStreamingCall(channel.newCall(light, io.grpc.CallOptions.DEFAULT), this);
    synchronized (this) {
      requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(CDS).build());
      requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LDS).build());
      requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(RDS).addResourceNames("outbound").build());
    }
  }

  @Override
  public synchronized void onNext(DiscoveryResponse r) {
    DiscoveryRequest.Builder ack = DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(r.getTypeUrl())
        .setVersionInfo(r.getVersionInfo()).setResponseNonce(r.getNonce());
    switch (r.getTypeUrl()) {
      case RDS -> ack.addResourceNames("outbound");
      case CDS -> {
        requests.onNext(ack.build());
        // Subscribe to the endpoints of every EDS cluster, as Envoy does after warming clusters.
        List<String> names = new ArrayList<>();
        for (Any a : r.getResourcesList()) {
          try {
            Cluster c = a.unpack(Cluster.class);
            names.add(c.getEdsClusterConfig().getServiceName().isEmpty() ? c.getName() : c.getEdsClusterConfig().getServiceName());
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            failed(e);
          }
        }
        edsNames = List.copyOf(names);
        requests.onNext(DiscoveryRequest.newBuilder().setNode(node).setTypeUrl(EDS).addAllResourceNames(names).build());
        return;
      }
      // An ACK names the resources still wanted (an EDS request naming none would be a wildcard request).
      case EDS -> ack.addAllResourceNames(edsNames);
      default -> { }
    }
    requests.onNext(ack.build());
    acked(r.getTypeUrl(), r.getVersionInfo());
  }

  @Override
  public void onError(Throwable t) {
    failed(t);
  }

  @Override
  public void onCompleted() {}

  @Override
  synchronized void close() {
    requests.onCompleted();
  }
}
