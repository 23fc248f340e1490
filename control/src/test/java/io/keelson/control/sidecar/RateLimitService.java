package io.keelson.control.sidecar;

import io.envoyproxy.envoy.extensions.common.ratelimit.v3.RateLimitDescriptor;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitRequest;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitResponse;
import io.envoyproxy.envoy.service.ratelimit.v3.RateLimitServiceGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real gRPC rate limit service (envoy.service.ratelimit.v3.RateLimitService on loopback, as envoyproxy/ratelimit
 * with one rule): each distinct descriptor may be hit {@code limit} times, then it is OVER_LIMIT. Records every
 * request. Thread-safe (grpc-java's executor answers).
 */
final class RateLimitService implements AutoCloseable {
  final List<RateLimitRequest> requests = new CopyOnWriteArrayList<>();
  private final Map<RateLimitDescriptor, AtomicInteger> hits = new ConcurrentHashMap<>();
  private final Server server;

  RateLimitService(int limit) throws IOException {
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create())
        .addService(new RateLimitServiceGrpc.RateLimitServiceImplBase() {
          @Override
          public void shouldRateLimit(RateLimitRequest request, StreamObserver<RateLimitResponse> out) {
            requests.add(request);
            RateLimitResponse.Builder r = RateLimitResponse.newBuilder().setOverallCode(RateLimitResponse.Code.OK);
            for (RateLimitDescriptor d : request.getDescriptorsList()) {
              boolean over = hits.computeIfAbsent(d, k -> new AtomicInteger()).incrementAndGet() > limit;
              if (over) {
                r.setOverallCode(RateLimitResponse.Code.OVER_LIMIT);
              }
              r.addStatuses(RateLimitResponse.DescriptorStatus.newBuilder()
                  .setCode(over ? RateLimitResponse.Code.OVER_LIMIT : RateLimitResponse.Code.OK));
            }
            out.onNext(r.build());
            out.onCompleted();
          }
        }).build().start();
  }

  int port() {
    return server.getPort();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
