package io.keelson.bench.xds;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link LightXdsClient}'s incremental (delta xDS) twin: one delta ADS stream subscribing to every
 * listener and cluster, the {@code outbound} routes and, once clusters arrive, their endpoints;
 * ACKs every response and keeps only the versions it ACKed. Resources are read for their names
 * only (their bodies are skipped). Callbacks run on gRPC threads; the ACKed versions are safe to
 * read from any thread.
 */
final class LightDeltaXdsClient extends SimulatedProxy implements StreamObserver<DeltaDiscoveryResponse> {
  private final Node node;
  private StreamObserver<DeltaDiscoveryRequest> requests;
  private final List<String> clusters = new ArrayList<>();

  LightDeltaXdsClient(String id) {
    this.node = Node.newBuilder().setId(id).setCluster("bench").build();
  }

  @Override
  void start(ManagedChannel channel) {
    var method = AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod();
    var light = method.toBuilder(method.getRequestMarshaller(), new NamesOnly()).build();
    requests = io.grpc.stub.ClientCalls.asyncBidiStreamingCall(channel.newCall(light, io.grpc.CallOptions.DEFAULT), this);
    synchronized (this) {
      requests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LightXdsClient.CDS).build());
      requests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LightXdsClient.LDS).build());
      requests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LightXdsClient.RDS)
          .addResourceNamesSubscribe("outbound").build());
    }
  }

  @Override
  public synchronized void onNext(DeltaDiscoveryResponse r) {
    requests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(r.getTypeUrl())
        .setResponseNonce(r.getNonce()).build());
    switch (r.getTypeUrl()) {
      case LightXdsClient.CDS -> {
        // Subscribe to the endpoints of every new cluster (EDS service name = cluster name here).
        List<String> added = new ArrayList<>();
        for (Resource c : r.getResourcesList()) {
          if (!clusters.contains(c.getName())) {
            clusters.add(c.getName());
            added.add(c.getName());
          }
        }
        if (!added.isEmpty()) {
          requests.onNext(DeltaDiscoveryRequest.newBuilder().setNode(node).setTypeUrl(LightXdsClient.EDS)
              .addAllResourceNamesSubscribe(added).build());
        }
      }
      default -> acked(r.getTypeUrl(), r.getSystemVersionInfo());
    }
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

  /** Reads version, nonce, type and each resource's name; skips the resources' bodies. */
  private static final class NamesOnly implements MethodDescriptor.Marshaller<DeltaDiscoveryResponse> {
    private final MethodDescriptor.Marshaller<DeltaDiscoveryResponse> full =
        AggregatedDiscoveryServiceGrpc.getDeltaAggregatedResourcesMethod().getResponseMarshaller();

    @Override
    public InputStream stream(DeltaDiscoveryResponse value) {
      return full.stream(value);
    }

    @Override
    public DeltaDiscoveryResponse parse(InputStream stream) {
      try {
        CodedInputStream in = CodedInputStream.newInstance(stream);
        in.setSizeLimit(Integer.MAX_VALUE);
        DeltaDiscoveryResponse.Builder b = DeltaDiscoveryResponse.newBuilder();
        while (true) {
          int tag = in.readTag();
          if (tag == 0) {
            return b.build();
          }
          switch (WireFormat.getTagFieldNumber(tag)) {
            case DeltaDiscoveryResponse.SYSTEM_VERSION_INFO_FIELD_NUMBER -> b.setSystemVersionInfo(in.readStringRequireUtf8());
            case DeltaDiscoveryResponse.TYPE_URL_FIELD_NUMBER -> b.setTypeUrl(in.readStringRequireUtf8());
            case DeltaDiscoveryResponse.NONCE_FIELD_NUMBER -> b.setNonce(in.readStringRequireUtf8());
            case DeltaDiscoveryResponse.RESOURCES_FIELD_NUMBER -> b.addResources(name(in));
            default -> in.skipField(tag);
          }
        }
      } catch (IOException e) {
        throw new IllegalStateException("cannot read a DeltaDiscoveryResponse", e);
      }
    }

    private static Resource name(CodedInputStream in) throws IOException {
      int limit = in.pushLimit(in.readRawVarint32());
      Resource.Builder r = Resource.newBuilder();
      while (!in.isAtEnd()) {
        int tag = in.readTag();
        if (WireFormat.getTagFieldNumber(tag) == Resource.NAME_FIELD_NUMBER) {
          r.setName(in.readStringRequireUtf8());
        } else {
          in.skipField(tag);
        }
      }
      in.popLimit(limit);
      return r.build();
    }
  }
}
