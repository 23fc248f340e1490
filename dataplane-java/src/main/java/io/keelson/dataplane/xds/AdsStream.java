package io.keelson.dataplane.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.EnumMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * One ADS stream (state of the world or delta): subscribes in Envoy's warming order — CDS first,
 * EDS for the EDS clusters, LDS once the clusters are warm, RDS for the names the listeners use —
 * and answers every response with an ACK or a NACK. A new stream is opened for each reconnect.
 * Confined to the xDS client's owner thread (the gRPC channel's executor).
 */
abstract class AdsStream {
  /** What a stream reports to the client that owns it. Called on the owner thread. */
  interface Owner {
    Node node();

    XdsResourceCache cache();

    /** A response was handled; {@code outcome} says whether it was accepted and carries a snapshot when one is ready. */
    void onOutcome(AdsStream stream, ResourceType type, String version, XdsResourceCache.Outcome outcome);

    /** The stream ended; the owner decides when to open the next one. */
    void onClosed(AdsStream stream, Throwable error);

    /** Runs {@code task} on the owner thread after the repeated-NACK delay. */
    void afterNackDelay(Runnable task);
  }

  /** google.rpc.Code.INVALID_ARGUMENT, as Envoy sends in a NACK's error_detail. */
  static final int INVALID_ARGUMENT = 3;

  final Owner owner;
  /** Names subscribed per non-wildcard type; absent = not subscribed yet. */
  final Map<ResourceType, Set<String>> subscribed = new EnumMap<>(ResourceType.class);
  boolean listenersRequested;
  boolean closed;
  /** Per type, the version last NACKed on this stream. */
  private final Map<ResourceType, String> nackedVersions = new EnumMap<>(ResourceType.class);

  AdsStream(Owner owner) {
    this.owner = owner;
  }

  /** The response side of either stream kind: responses while open, then exactly one close report. */
  final <Q, R> ClientResponseObserver<Q, R> responses(Consumer<R> onResponse) {
    return new ClientResponseObserver<>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<Q> stream) {}

      @Override
      public void onNext(R response) {
        if (!closed) {
          onResponse.accept(response);
        }
      }

      @Override
      public void onError(Throwable t) {
        closeAndReport(t);
      }

      @Override
      public void onCompleted() {
        closeAndReport(null);
      }
    };
  }

  /** Marks the stream closed and tells the owner, once. */
  final void closeAndReport(Throwable t) {
    if (!closed) {
      closed = true;
      owner.onClosed(this, t);
    }
  }

  /** Opens the stream and sends the first subscriptions (resuming from the accepted versions on a reconnect). */
  final void open(AggregatedDiscoveryServiceStub stub) {
    start(stub);
    subscribe(ResourceType.CLUSTER, Set.of());
    updateSubscriptions();
  }

  /** After each response: follow the EDS/RDS names the accepted resources use, and start LDS once clusters are warm. */
  final void updateSubscriptions() {
    if (closed) {
      return;
    }
    XdsResourceCache cache = owner.cache();
    follow(ResourceType.ENDPOINT, cache.edsSubscription());
    if (!listenersRequested && cache.clustersWarm()) {
      listenersRequested = true;
      subscribe(ResourceType.LISTENER, Set.of());
    }
    if (listenersRequested) {
      follow(ResourceType.ROUTE, cache.rdsSubscription());
      follow(ResourceType.SECRET, cache.sdsSubscription());
    }
  }

  private void follow(ResourceType type, Set<String> wanted) {
    Set<String> current = subscribed.get(type);
    if (wanted.isEmpty() && current == null) {
      return; // nothing to ask for yet
    }
    if (current == null || !current.equals(wanted)) {
      Set<String> previous = current == null ? Set.of() : current;
      subscribed.put(type, new TreeSet<>(wanted));
      if (current == null) {
        subscribe(type, wanted);
      } else {
        resubscribe(type, previous, wanted);
      }
    }
  }

  /**
   * Sends the answer to a response. A server that resends the version just NACKed (java-control-plane's
   * SimpleCache does: the NACK names an older version) would otherwise ping-pong as fast as the
   * network allows; the repeated NACK is delayed instead, which bounds that loop.
   */
  final void answer(ResourceType type, String version, XdsResourceCache.Outcome outcome, Runnable send) {
    if (outcome.accepted()) {
      nackedVersions.remove(type);
      send.run();
    } else if (version.equals(nackedVersions.put(type, version))) {
      owner.afterNackDelay(() -> {
        if (!closed) {
          send.run();
        }
      });
    } else {
      send.run();
    }
  }

  /** Handles one response on the owner thread and answers it. */
  final void handled(ResourceType type, String version, XdsResourceCache.Outcome outcome) {
    owner.onOutcome(this, type, version, outcome);
    updateSubscriptions();
  }

  abstract void start(AggregatedDiscoveryServiceStub stub);

  /** First request for a type on this stream (wildcard types pass no names). */
  abstract void subscribe(ResourceType type, Set<String> names);

  /** The set of names for a non-wildcard type changed. */
  abstract void resubscribe(ResourceType type, Set<String> previous, Set<String> wanted);

  /** Cancels the stream; no callback follows. */
  abstract void cancel();
}
