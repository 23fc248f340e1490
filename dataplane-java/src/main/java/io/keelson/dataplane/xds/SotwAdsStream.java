package io.keelson.dataplane.xds;

import com.google.rpc.Status;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * State-of-the-world ADS ({@code StreamAggregatedResources}): each response carries the whole set of
 * a type (LDS/CDS) or of the subscribed names (EDS/RDS); ACK = the response's version_info and nonce,
 * NACK = the last accepted version_info, the nonce and an error_detail. Confined to the owner thread.
 */
final class SotwAdsStream extends AdsStream {
  private final Map<ResourceType, String> nonces = new EnumMap<>(ResourceType.class);
  private StreamObserver<DiscoveryRequest> requests;

  SotwAdsStream(Owner owner) {
    super(owner);
  }

  @Override
  void start(AggregatedDiscoveryServiceStub stub) {
    requests = stub.streamAggregatedResources(this.<DiscoveryRequest, DiscoveryResponse>responses(this::onResponse));
  }

  private void onResponse(DiscoveryResponse response) {
    ResourceType type = ResourceType.ofTypeUrl(response.getTypeUrl());
    if (type == null) {
      return; // not subscribed; a server must not send it, and answering could loop
    }
    nonces.put(type, response.getNonce());
    List<XdsResourceCache.Incoming> incoming = new ArrayList<>(response.getResourcesCount());
    response.getResourcesList().forEach(any -> incoming.add(new XdsResourceCache.Incoming("", response.getVersionInfo(), any)));
    XdsResourceCache.Outcome outcome =
        owner.cache().apply(type, incoming, Set.of(), type.wildcard(), response.getVersionInfo());
    DiscoveryRequest.Builder answer = request(type)
        .setResponseNonce(response.getNonce());
    if (outcome.accepted()) {
      answer.setVersionInfo(response.getVersionInfo());
    } else {
      answer.setVersionInfo(owner.cache().version(type))
          .setErrorDetail(Status.newBuilder().setCode(INVALID_ARGUMENT).setMessage(outcome.error()));
    }
    DiscoveryRequest built = answer.build();
    answer(type, response.getVersionInfo(), outcome, () -> requests.onNext(built));
    handled(type, response.getVersionInfo(), outcome);
  }

  private DiscoveryRequest.Builder request(ResourceType type) {
    DiscoveryRequest.Builder b = DiscoveryRequest.newBuilder().setNode(owner.node()).setTypeUrl(type.typeUrl());
    Set<String> names = subscribed.get(type);
    if (!type.wildcard() && names != null) {
      b.addAllResourceNames(names);
    }
    return b;
  }

  @Override
  void subscribe(ResourceType type, Set<String> names) {
    // On a reconnect the last accepted version lets the server skip resending what we have. The
    // nonce is not carried over: nonces belong to a stream, and a server ignores a stale one.
    requests.onNext(request(type).setVersionInfo(owner.cache().version(type)).build());
  }

  @Override
  void resubscribe(ResourceType type, Set<String> previous, Set<String> wanted) {
    requests.onNext(request(type)
        .setVersionInfo(owner.cache().version(type))
        .setResponseNonce(nonces.getOrDefault(type, ""))
        .build());
  }

  @Override
  void cancel() {
    closed = true;
    if (requests instanceof ClientCallStreamObserver<DiscoveryRequest> call) {
      call.cancel("xDS client closed", null);
    } else if (requests != null) {
      requests.onCompleted();
    }
  }
}
