package io.keelson.dataplane.xds;

import com.google.rpc.Status;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryResponse;
import io.envoyproxy.envoy.service.discovery.v3.Resource;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Incremental ADS ({@code DeltaAggregatedResources}): responses carry changed and removed resources
 * only; ACK = the nonce, NACK = the nonce and an error_detail. A reconnect sends
 * initial_resource_versions so the server sends only what changed. Confined to the owner thread.
 */
final class DeltaAdsStream extends AdsStream {
  private StreamObserver<DeltaDiscoveryRequest> requests;

  DeltaAdsStream(Owner owner) {
    super(owner);
  }

  @Override
  void start(AggregatedDiscoveryServiceStub stub) {
    requests = stub.deltaAggregatedResources(this.<DeltaDiscoveryRequest, DeltaDiscoveryResponse>responses(this::onResponse));
  }

  private void onResponse(DeltaDiscoveryResponse response) {
    ResourceType type = ResourceType.ofTypeUrl(response.getTypeUrl());
    if (type == null) {
      return;
    }
    List<XdsResourceCache.Incoming> incoming = new ArrayList<>(response.getResourcesCount());
    for (Resource r : response.getResourcesList()) {
      incoming.add(new XdsResourceCache.Incoming(r.getName(), r.getVersion(), r.getResource()));
    }
    Set<String> removed = new HashSet<>(response.getRemovedResourcesList());
    String version = response.getSystemVersionInfo().isEmpty() ? response.getNonce() : response.getSystemVersionInfo();
    XdsResourceCache.Outcome outcome = owner.cache().apply(type, incoming, removed, false, version);
    DeltaDiscoveryRequest.Builder answer = DeltaDiscoveryRequest.newBuilder()
        .setNode(owner.node())
        .setTypeUrl(type.typeUrl())
        .setResponseNonce(response.getNonce());
    if (!outcome.accepted()) {
      answer.setErrorDetail(Status.newBuilder().setCode(INVALID_ARGUMENT).setMessage(outcome.error()));
    }
    DeltaDiscoveryRequest built = answer.build();
    answer(type, version, outcome, () -> requests.onNext(built));
    handled(type, version, outcome);
  }

  @Override
  void subscribe(ResourceType type, Set<String> names) {
    // Wildcard types subscribe with an empty list (the legacy wildcard every server understands).
    requests.onNext(DeltaDiscoveryRequest.newBuilder()
        .setNode(owner.node())
        .setTypeUrl(type.typeUrl())
        .addAllResourceNamesSubscribe(type.wildcard() ? List.of() : names)
        .putAllInitialResourceVersions(owner.cache().resourceVersions(type))
        .build());
  }

  @Override
  void resubscribe(ResourceType type, Set<String> previous, Set<String> wanted) {
    Set<String> added = new LinkedHashSet<>(wanted);
    added.removeAll(previous);
    Set<String> dropped = new LinkedHashSet<>(previous);
    dropped.removeAll(wanted);
    requests.onNext(DeltaDiscoveryRequest.newBuilder()
        .setNode(owner.node())
        .setTypeUrl(type.typeUrl())
        .addAllResourceNamesSubscribe(added)
        .addAllResourceNamesUnsubscribe(dropped)
        .build());
  }

  @Override
  void cancel() {
    closed = true;
    if (requests instanceof ClientCallStreamObserver<DeltaDiscoveryRequest> call) {
      call.cancel("xDS client closed", null);
    } else if (requests != null) {
      requests.onCompleted();
    }
  }
}
