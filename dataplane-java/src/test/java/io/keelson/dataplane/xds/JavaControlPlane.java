package io.keelson.dataplane.xds;

import io.envoyproxy.controlplane.cache.Resources.ResourceType;
import io.envoyproxy.controlplane.cache.Response;
import io.envoyproxy.controlplane.cache.Watch;
import io.envoyproxy.controlplane.cache.XdsRequest;
import io.envoyproxy.controlplane.cache.v3.SimpleCache;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import io.envoyproxy.controlplane.server.DiscoveryServerCallbacks;
import io.envoyproxy.controlplane.server.V3DiscoveryServer;
import io.envoyproxy.envoy.service.discovery.v3.DeltaDiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A control plane built on envoyproxy's java-control-plane (SimpleCache + V3DiscoveryServer) on a
 * loopback gRPC server, recording every request it receives. Thread-safe.
 */
final class JavaControlPlane implements AutoCloseable {
  final SimpleCache<String> cache = new SerialWatchCache();
  final List<DiscoveryRequest> requests = new CopyOnWriteArrayList<>();
  final List<DeltaDiscoveryRequest> deltaRequests = new CopyOnWriteArrayList<>();
  private Server server;
  private int port;

  JavaControlPlane start() throws IOException {
    return startOn(0);
  }

  /** (Re)starts on {@code port} (0 = ephemeral), keeping the cache: a restarted control plane with the same state. */
  JavaControlPlane startOn(int wanted) throws IOException {
    V3DiscoveryServer discovery = new V3DiscoveryServer(new DiscoveryServerCallbacks() {
      @Override
      public void onV3StreamRequest(long streamId, DiscoveryRequest request) {
        requests.add(request);
      }

      @Override
      public void onV3StreamDeltaRequest(long streamId, DeltaDiscoveryRequest request) {
        deltaRequests.add(request);
      }
    }, cache);
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", wanted))
        .addService(discovery.getAggregatedDiscoveryServiceImpl())
        .build()
        .start();
    port = ((InetSocketAddress) server.getListenSockets().get(0)).getPort();
    return this;
  }

  int port() {
    return port;
  }

  void set(Snapshot snapshot) {
    cache.setSnapshot("proxies", snapshot);
  }

  void stop() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  /**
   * SimpleCache answers the open watches of a new snapshot after releasing its lock, and drops each watch it visits,
   * answered or not. A proxy asking for a secret that the CDS response just sent names (a cluster's new CA) made its
   * watch in that window, had it dropped unanswered against the snapshot that lacks the secret, and waited for ever:
   * the next snapshot, with the secret, found no watch (XdsSdsWarmingTest stalled so). Watches are made here only
   * between two setSnapshots (both hold this object's monitor). As control's WatchKeepingCache (which this module
   * cannot see), a request naming a new name the snapshot has, or an EDS request after a cluster change, that the
   * snapshot cannot answer (another name missing) opens its watch: SimpleCache would answer it at once, be refused and
   * open none. The control plane's own cache also keeps a watch a later snapshot still cannot answer; these tests push
   * no such snapshot.
   */
  private static final class SerialWatchCache extends SimpleCache<String> {
    SerialWatchCache() {
      super(node -> "proxies");
    }

    @Override
    public synchronized Watch createWatch(boolean ads, XdsRequest request, Set<String> knownResourceNames,
        Consumer<Response> responseConsumer, boolean hasClusterChanged, boolean allowDefaultEmptyEdsUpdate) {
      Snapshot snapshot = getSnapshot("proxies");
      List<String> names = request.getResourceNamesList();
      if (ads && snapshot != null && !names.isEmpty()
          && !snapshot.resources(request.getResourceType()).keySet().containsAll(names)
          && !(request.getResourceType() == ResourceType.ENDPOINT && allowDefaultEmptyEdsUpdate)) {
        return super.createWatch(true, request, Set.copyOf(names), responseConsumer, false, allowDefaultEmptyEdsUpdate);
      }
      return super.createWatch(ads, request, knownResourceNames, responseConsumer, hasClusterChanged,
          allowDefaultEmptyEdsUpdate);
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (server != null && !server.isTerminated()) {
      stop();
    }
  }
}
