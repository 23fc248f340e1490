package io.keelson.dataplane.filter.rls;

import io.envoyproxy.envoy.config.core.v3.HeaderValue;
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
 * A real gRPC rate limit service (grpc-java's envoy.service.ratelimit.v3.RateLimitService on loopback), like
 * envoyproxy/ratelimit with one rule: each distinct descriptor may be hit {@code limit} times a minute (or its own
 * {@code limit} override's requests_per_unit, as envoyproxy/ratelimit honours it); a request
 * is OVER_LIMIT when any of its descriptors is over. Answers each descriptor's status (current limit, remaining,
 * reset in 42 s), a response header and a request header. Records every request. {@link #delayMillis} makes it
 * slow (it answers after that long, on grpc-java's executor).
 */
final class RateLimitServer implements AutoCloseable {
  final List<RateLimitRequest> requests = new CopyOnWriteArrayList<>();
  private final Map<RateLimitDescriptor, AtomicInteger> hits = new ConcurrentHashMap<>();
  private final Server server;
  volatile long delayMillis;

  RateLimitServer(int limit) throws IOException {
    server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(new RateLimitServiceGrpc.RateLimitServiceImplBase() {
      @Override
      public void shouldRateLimit(RateLimitRequest request, StreamObserver<RateLimitResponse> out) {
        requests.add(request);
        if (delayMillis > 0) {
          try {
            Thread.sleep(delayMillis); // a slow service; the test's own thread, never the proxy's
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
        RateLimitResponse.Builder r = RateLimitResponse.newBuilder().setOverallCode(RateLimitResponse.Code.OK);
        for (RateLimitDescriptor d : request.getDescriptorsList()) {
          int n = hits.computeIfAbsent(d, k -> new AtomicInteger()).incrementAndGet();
          int max = d.hasLimit() ? d.getLimit().getRequestsPerUnit() : limit; // the descriptor's override wins
          boolean over = n > max;
          if (over) {
            r.setOverallCode(RateLimitResponse.Code.OVER_LIMIT);
          }
          r.addStatuses(RateLimitResponse.DescriptorStatus.newBuilder()
              .setCode(over ? RateLimitResponse.Code.OVER_LIMIT : RateLimitResponse.Code.OK)
              .setCurrentLimit(RateLimitResponse.RateLimit.newBuilder().setRequestsPerUnit(max)
                  .setUnit(RateLimitResponse.RateLimit.Unit.MINUTE))
              .setLimitRemaining(Math.max(0, max - n))
              .setDurationUntilReset(com.google.protobuf.Duration.newBuilder().setSeconds(42)));
        }
        r.addResponseHeadersToAdd(HeaderValue.newBuilder().setKey("x-rls-seen").setValue("yes"));
        r.addRequestHeadersToAdd(HeaderValue.newBuilder().setKey("x-rls-checked").setValue("true"));
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
