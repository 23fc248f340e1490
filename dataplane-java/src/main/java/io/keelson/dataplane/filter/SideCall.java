package io.keelson.dataplane.filter;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.FullHttpRequest;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A filter's side call (ext_authz's checks, HTTP filter with either service and the network filter; the rate limit
 * service's ShouldRateLimit): finds the service's cluster, picks its endpoint through the cluster's balancer as the
 * router does ({@link SideCallBalancers}), sends the request ({@link UpstreamCalls}) and turns the answer into the
 * caller's outcome; a missing cluster, no endpoint, a request that cannot be built or a failed call is the caller's
 * failure outcome. Stateless; runs on the connection's event loop.
 */
public final class SideCall {
  private SideCall() {}

  /**
   * @param maxBodyBytes the largest answer body taken; a longer one is a failed call
   * @param build   the request (released by the call); an IllegalArgumentException (a field Netty's codec refuses)
   *                is a failure
   * @param answer  the outcome of a complete answer
   * @param failure the outcome of no usable answer (also counts it)
   * @param done    gets exactly one outcome on {@code loop}, unless the returned call is cancelled first
   */
  public static <T> UpstreamCalls.Call send(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot,
      String clusterName, long timeoutNanos, int maxBodyBytes, Supplier<FullHttpRequest> build,
      Function<UpstreamCalls.Response, T> answer, Supplier<T> failure, Consumer<T> done) {
    return send(loop, calls, snapshot, clusterName, timeoutNanos, maxBodyBytes, build, answer, reason -> failure.get(), done);
  }

  /**
   * As {@link #send(EventLoop, UpstreamCalls, ServingSnapshot, String, long, int, Supplier, Function, Supplier, Consumer)},
   * with the failure's reason ({@link UpstreamCalls#TIMEOUT} when the call timed out) for callers that count causes apart.
   */
  public static <T> UpstreamCalls.Call send(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot,
      String clusterName, long timeoutNanos, int maxBodyBytes, Supplier<FullHttpRequest> build,
      Function<UpstreamCalls.Response, T> answer, Function<String, T> failure, Consumer<T> done) {
    ServingCluster cluster = snapshot.cluster(clusterName);
    EndpointConfig endpoint = cluster == null ? null : pick(snapshot, cluster);
    FullHttpRequest check = null;
    if (endpoint != null) {
      try {
        check = build.get();
      } catch (IllegalArgumentException e) {
        check = null;
      }
    }
    if (check == null) {
      done.accept(failure.apply(endpoint == null ? "no endpoint in cluster " + clusterName : "request not built"));
      return UpstreamCalls.Call.ENDED;
    }
    return calls.call(loop, cluster, endpoint, check, timeoutNanos, maxBodyBytes,
        new UpstreamCalls.Callback() {
          @Override
          public void onResponse(UpstreamCalls.Response response) {
            done.accept(answer.apply(response));
          }

          @Override
          public void onFailure(String reason) {
            done.accept(failure.apply(reason));
          }
        });
  }

  /**
   * Opens a bidirectional stream of {@code head} to the service's cluster (ext_proc's Process), its endpoint picked as
   * {@link #send} picks it; a missing cluster or no endpoint is the callback's failure, at once.
   *
   * @return the stream, or null when the callback was already told it failed (no endpoint)
   */
  public static UpstreamCalls.Stream stream(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot,
      String clusterName, io.netty.handler.codec.http.HttpRequest head, UpstreamCalls.StreamCallback callback) {
    ServingCluster cluster = snapshot.cluster(clusterName);
    EndpointConfig endpoint = cluster == null ? null : pick(snapshot, cluster);
    if (endpoint == null) {
      callback.onFailure("no endpoint in cluster " + clusterName);
      return null;
    }
    return calls.stream(loop, cluster, endpoint, head, callback);
  }

  /**
   * The endpoint the call goes to, picked as the router picks (lb_policy, health, outlier ejection), or null when
   * the cluster has none.
   */
  private static EndpointConfig pick(ServingSnapshot snapshot, ServingCluster cluster) {
    LoadBalancer lb = SideCallBalancers.forCluster(snapshot, cluster);
    int index = lb.pick();
    return index < 0 ? null : lb.endpoint(index);
  }
}
