package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.rpc.Status;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.config.endpoint.v3.Endpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LbEndpoint;
import io.envoyproxy.envoy.config.endpoint.v3.LocalityLbEndpoints;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.Attributes;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Which ClusterLoadAssignments a state-of-the-world EDS response keeps on the wire: only those the
 * proxy does not hold (by packed instance), and everything whenever what it holds is uncertain.
 */
class PartialEndpointsTest {
  private static final MethodDescriptor<DiscoveryRequest, DiscoveryResponse> ADS =
      AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod();

  private final List<DiscoveryResponse> wire = new ArrayList<>();
  private final PartialEndpoints partial = new PartialEndpoints(true);
  private ServerCall.Listener<DiscoveryRequest> requests;
  private ServerCall<DiscoveryRequest, DiscoveryResponse> call;
  private int nonce;

  private static Any cla(String name, int port) {
    return Any.pack(ClusterLoadAssignment.newBuilder().setClusterName(name)
        .addEndpoints(LocalityLbEndpoints.newBuilder().addLbEndpoints(LbEndpoint.newBuilder()
            .setEndpoint(Endpoint.newBuilder().setAddress(io.envoyproxy.envoy.config.core.v3.Address.newBuilder()
                .setSocketAddress(io.envoyproxy.envoy.config.core.v3.SocketAddress.newBuilder()
                    .setAddress("127.0.0.1").setPortValue(port))))))
        .build());
  }

  /** Opens a stream through {@code interceptor}; what it sends lands in {@link #wire}. */
  private void open(PartialEndpoints interceptor) {
    ServerCall<DiscoveryRequest, DiscoveryResponse> fake = new ServerCall<>() {
      @Override public void request(int n) { }
      @Override public void sendHeaders(Metadata headers) { }
      @Override public void sendMessage(DiscoveryResponse message) {
        wire.add(message);
      }
      @Override public void close(io.grpc.Status status, Metadata trailers) { }
      @Override public boolean isCancelled() {
        return false;
      }
      @Override public Attributes getAttributes() {
        return Attributes.EMPTY;
      }
      @Override public MethodDescriptor<DiscoveryRequest, DiscoveryResponse> getMethodDescriptor() {
        return ADS;
      }
    };
    requests = interceptor.interceptCall(fake, new Metadata(), (c, h) -> {
      call = c;
      return new ServerCall.Listener<>() { };
    });
  }

  /** java-control-plane's side: a complete response of {@code type}. */
  private DiscoveryResponse send(String type, String version, Any... resources) {
    call.sendMessage(DiscoveryResponse.newBuilder().setTypeUrl(type).setVersionInfo(version)
        .setNonce(String.valueOf(++nonce)).addAllResources(List.of(resources)).build());
    return wire.getLast();
  }

  private void ack(DiscoveryResponse r, String... names) {
    requests.onMessage(DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo(r.getVersionInfo())
        .setResponseNonce(r.getNonce()).addAllResourceNames(List.of(names)).build());
  }

  private void nack(DiscoveryResponse r, String... names) {
    requests.onMessage(DiscoveryRequest.newBuilder().setTypeUrl(r.getTypeUrl()).setVersionInfo("old")
        .setResponseNonce(r.getNonce()).addAllResourceNames(List.of(names))
        .setErrorDetail(Status.newBuilder().setCode(3).setMessage("bad")).build());
  }

  private static List<String> names(DiscoveryResponse r) {
    return r.getResourcesList().stream().map(PartialEndpoints::clusterName).toList();
  }

  @Test
  void afterAnAckOnlyTheAssignmentsThatAreNewInstancesAreSent() {
    open(partial);
    Any a = cla("a", 1);
    Any b = cla("b", 2);
    DiscoveryResponse first = send(PartialEndpoints.EDS, "1", a, b);
    assertThat(names(first)).as("the stream's first response is complete").containsExactly("a", "b");
    ack(first, "a", "b");

    DiscoveryResponse second = send(PartialEndpoints.EDS, "2", cla("a", 3), b);

    assertThat(names(second)).as("b is the instance the proxy ACKed").containsExactly("a");
    assertThat(second.getVersionInfo()).isEqualTo("2");
    assertThat(second.getNonce()).as("version and nonce are java-control-plane's").isEqualTo("2");
    assertThat(partial.omitted()).isEqualTo(1);
  }

  @Test
  void anEqualButRebuiltAssignmentIsSentAgainBecauseContentIsNeverCompared() {
    open(partial);
    DiscoveryResponse first = send(PartialEndpoints.EDS, "1", cla("a", 1));
    ack(first, "a");

    assertThat(names(send(PartialEndpoints.EDS, "2", cla("a", 1)))).containsExactly("a");
  }

  @Test
  void everythingIsSentAgainAfterANack() {
    open(partial);
    Any a = cla("a", 1);
    Any b = cla("b", 2);
    ack(send(PartialEndpoints.EDS, "1", a, b), "a", "b");
    nack(send(PartialEndpoints.EDS, "2", cla("a", 3), b), "a", "b");

    assertThat(names(send(PartialEndpoints.EDS, "3", a, b))).containsExactly("a", "b");
  }

  @Test
  void aResponseSentBeforeThePreviousWasAnsweredIsComplete() {
    open(partial);
    Any b = cla("b", 2);
    ack(send(PartialEndpoints.EDS, "1", cla("a", 1), b), "a", "b");
    send(PartialEndpoints.EDS, "2", cla("a", 3), b); // not answered yet

    assertThat(names(send(PartialEndpoints.EDS, "3", cla("a", 4), b))).containsExactly("a", "b");
  }

  @Test
  void aClusterResponseMakesTheNextEndpointResponseComplete() {
    open(partial);
    Any a = cla("a", 1);
    Any b = cla("b", 2);
    ack(send(PartialEndpoints.EDS, "1", a, b), "a", "b");
    send(PartialEndpoints.CDS, "c2");

    assertThat(names(send(PartialEndpoints.EDS, "2", a, b))).containsExactly("a", "b");
  }

  @Test
  void aNameSubscribedAgainAfterBeingDroppedIsSentInFull() {
    open(partial);
    Any a = cla("a", 1);
    Any b = cla("b", 2);
    DiscoveryResponse first = send(PartialEndpoints.EDS, "1", a, b);
    ack(first, "a", "b");
    // The proxy drops b (its cluster went away), then asks for it again.
    requests.onMessage(DiscoveryRequest.newBuilder().setTypeUrl(PartialEndpoints.EDS).setVersionInfo("1")
        .setResponseNonce(first.getNonce()).addResourceNames("a").build());

    assertThat(names(send(PartialEndpoints.EDS, "1", a, b))).containsExactly("b");
  }

  @Test
  void otherTypesAndTheDisabledInterceptorLeaveResponsesAsTheyAre() {
    open(new PartialEndpoints(false));
    Any a = cla("a", 1);
    ack(send(PartialEndpoints.EDS, "1", a), "a");

    assertThat(names(send(PartialEndpoints.EDS, "2", a))).containsExactly("a");
  }

  @Test
  void readsTheClusterNameWithoutParsingTheEndpoints() {
    assertThat(PartialEndpoints.clusterName(cla("product-service|v1", 8080))).isEqualTo("product-service|v1");
    assertThat(PartialEndpoints.clusterName(Any.pack(ClusterLoadAssignment.getDefaultInstance()))).isEmpty();
    assertThat(PartialEndpoints.clusterName(Any.newBuilder().setTypeUrl("type.googleapis.com/x").build())).isNull();
  }
}
