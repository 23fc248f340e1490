package io.keelson.bench.xds;

import io.grpc.ManagedChannel;

/** One simulated proxy of the convergence benchmark (state of the world or delta xDS). Thread-safe reads. */
interface SimulatedProxy {
  void start(ManagedChannel channel);

  void close();

  String ackedRoutes();

  long ackedRoutesAtNanos();

  String ackedEndpoints();

  long ackedEndpointsAtNanos();

  Throwable failure();
}
