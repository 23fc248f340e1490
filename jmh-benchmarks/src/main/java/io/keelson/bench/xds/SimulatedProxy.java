package io.keelson.bench.xds;

import io.grpc.ManagedChannel;

/**
 * One simulated proxy of the convergence benchmark (state of the world or delta xDS): what it last
 * ACKed for routes and endpoints, and when. Subclasses record from gRPC threads; reads are safe
 * from any thread.
 */
abstract class SimulatedProxy {
  private volatile String ackedRoutes = "";
  private volatile long ackedRoutesAtNanos;
  private volatile String ackedEndpoints = "";
  private volatile long ackedEndpointsAtNanos;
  private volatile Throwable failure;

  abstract void start(ManagedChannel channel);

  abstract void close();

  /** Records an ACKed {@code version} of {@code typeUrl} (routes and endpoints only; others ignored). */
  final void acked(String typeUrl, String version) {
    if (typeUrl.equals(LightXdsClient.EDS)) {
      ackedEndpointsAtNanos = System.nanoTime();
      ackedEndpoints = version;
    } else if (typeUrl.equals(LightXdsClient.RDS)) {
      ackedRoutesAtNanos = System.nanoTime();
      ackedRoutes = version;
    }
  }

  final void failed(Throwable t) {
    failure = t;
  }

  final String ackedRoutes() {
    return ackedRoutes;
  }

  final long ackedRoutesAtNanos() {
    return ackedRoutesAtNanos;
  }

  final String ackedEndpoints() {
    return ackedEndpoints;
  }

  final long ackedEndpointsAtNanos() {
    return ackedEndpointsAtNanos;
  }

  final Throwable failure() {
    return failure;
  }
}
