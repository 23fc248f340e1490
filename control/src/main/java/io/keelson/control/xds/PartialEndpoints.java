package io.keelson.control.xds;

import com.google.protobuf.Any;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.envoyproxy.controlplane.cache.Resources;
import io.envoyproxy.envoy.config.endpoint.v3.ClusterLoadAssignment;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * State-of-the-world EDS responses carry only the ClusterLoadAssignments a proxy does not already
 * hold. The xDS protocol requires LDS and CDS responses to be complete but not EDS (nor RDS): a
 * client keeps the assignments a response leaves out (Envoy, grpc-java, Keelson's XdsClient). So
 * when one workload moves, a proxy is sent the lists that hold it, not every list it subscribes to.
 *
 * <p>Works on the wire only: java-control-plane still builds, records and tracks the complete
 * response (its nonce, version and ACKed resource names are unchanged); this interceptor drops, per
 * stream, each assignment that is the <em>same instance</em> (a packed {@link Any} shared by every
 * proxy of a translation, see {@link PackedResources}) as one the proxy ACKed. It never compares
 * content, and it sends the complete response whenever it cannot be sure what the proxy holds: the
 * stream's first response, a response sent before the previous one was answered, after a NACK, and
 * after any CDS response (an updated cluster may need its endpoints again to warm). A name the
 * proxy stops subscribing to is forgotten, so subscribing again gets it in full.
 *
 * <p>{@code -Dkeelson.xds.partialEds=false} turns it off (every requested assignment in every
 * response, java-control-plane's behaviour). Thread-safe: each stream's state is guarded by itself.
 */
final class PartialEndpoints implements ServerInterceptor {
  static final String EDS = Resources.V3.ENDPOINT_TYPE_URL;
  static final String CDS = Resources.V3.CLUSTER_TYPE_URL;
  private static final String ADS_SOTW = AggregatedDiscoveryServiceGrpc.getStreamAggregatedResourcesMethod()
      .getFullMethodName();

  private final boolean enabled;
  // Assignments left out of responses since start (for tests and the docs' numbers).
  private final LongAdder omitted = new LongAdder();

  PartialEndpoints(boolean enabled) {
    this.enabled = enabled;
  }

  static PartialEndpoints fromSystemProperty() {
    return new PartialEndpoints(!"false".equals(System.getProperty("keelson.xds.partialEds")));
  }

  long omitted() {
    return omitted.sum();
  }

  @Override
  @SuppressWarnings("unchecked")
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    if (!enabled || !ADS_SOTW.equals(call.getMethodDescriptor().getFullMethodName())) {
      return next.startCall(call, headers);
    }
    Stream stream = new Stream();
    ServerCall<Q, R> filtering = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void sendMessage(R message) {
        super.sendMessage((R) stream.sending((DiscoveryResponse) message));
      }
    };
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(filtering, headers)) {
      @Override
      public void onMessage(Q message) {
        stream.received((DiscoveryRequest) message);
        super.onMessage(message);
      }
    };
  }

  /** What one stream's proxy holds of EDS, as far as its answers tell. */
  private final class Stream {
    // Assignments the proxy ACKed and still subscribes to, by name: the packed instances.
    private Map<String, Any> held = Map.of();
    // The last EDS response sent and not yet answered: its nonce, and every assignment the proxy holds once it ACKs.
    private String pendingNonce;
    private Map<String, Any> pending;

    synchronized DiscoveryResponse sending(DiscoveryResponse r) {
      if (r.getTypeUrl().equals(CDS)) {
        // Clusters may be updated: their endpoints go in full with the next EDS response (also when one is in flight).
        held = Map.of();
        if (pending != null) {
          pending = Map.of();
        }
        return r;
      }
      if (!r.getTypeUrl().equals(EDS)) {
        return r;
      }
      Map<String, Any> all = new HashMap<>();
      List<Any> send = new ArrayList<>(r.getResourcesCount());
      boolean knownState = pendingNonce == null && !held.isEmpty();
      for (Any any : r.getResourcesList()) {
        String name = clusterName(any);
        if (name == null) {
          held = Map.of(); // unreadable: leave the whole response as it is, and forget what we knew
          pendingNonce = r.getNonce();
          pending = Map.of();
          return r;
        }
        all.put(name, any);
        if (!knownState || held.get(name) != any) {
          send.add(any);
        }
      }
      pendingNonce = r.getNonce();
      pending = all;
      if (send.size() == r.getResourcesCount()) {
        return r;
      }
      omitted.add(r.getResourcesCount() - send.size());
      return r.toBuilder().clearResources().addAllResources(send).build();
    }

    synchronized void received(DiscoveryRequest q) {
      if (!q.getTypeUrl().equals(EDS)) {
        return;
      }
      if (pendingNonce != null && pendingNonce.equals(q.getResponseNonce())) {
        held = q.hasErrorDetail() ? Map.of() : pending;
        pendingNonce = null;
        pending = null;
      }
      if (held.isEmpty()) {
        return;
      }
      Set<String> subscribed = new HashSet<>(q.getResourceNamesList());
      if (!subscribed.containsAll(held.keySet())) {
        Map<String, Any> kept = new HashMap<>(held);
        kept.keySet().retainAll(subscribed);
        held = kept;
      }
    }
  }

  /**
   * A packed ClusterLoadAssignment's cluster_name, read from its first fields without parsing the
   * endpoints (protobuf writes fields in number order, so it comes first); null if unreadable.
   */
  static String clusterName(Any any) {
    if (!any.getTypeUrl().equals(EDS)) {
      return null;
    }
    try {
      CodedInputStream in = any.getValue().newCodedInput();
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          return "";
        }
        if (WireFormat.getTagFieldNumber(tag) == ClusterLoadAssignment.CLUSTER_NAME_FIELD_NUMBER
            && WireFormat.getTagWireType(tag) == WireFormat.WIRETYPE_LENGTH_DELIMITED) {
          return in.readStringRequireUtf8();
        }
        in.skipField(tag);
      }
    } catch (IOException e) {
      return null;
    }
  }
}
