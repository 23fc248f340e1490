package io.keelson.dataplane.filter.extauthz;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedRequest;
import io.keelson.dataplane.filter.SideCallBalancers;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.handler.codec.http.FullHttpRequest;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The part of a check both ext_authz services share: finds the authorization cluster, picks its endpoint through
 * the cluster's balancer as the router does ({@link SideCallBalancers}),
 * sends the check request as a side call and turns the answer into the filter's outcome; a missing cluster, a
 * check request that cannot be built or a failed call is an error ({@link HttpAuthzCheck#failure}). Stateless;
 * runs on the request's event loop.
 */
final class AuthzClusterCall {
  private AuthzClusterCall() {}

  /**
   * @param build  the check request for the picked cluster (released by the call); an IllegalArgumentException
   *               (a field Netty's codec refuses) is an error
   * @param answer the outcome of a complete answer
   */
  static UpstreamCalls.Call send(CheckedRequest request, ExtAuthzConfig config, ExtAuthzStats stats,
      Function<CheckedRequest, FullHttpRequest> build, Function<UpstreamCalls.Response, CheckOutcome> answer,
      Consumer<CheckOutcome> done) {
    ServingCluster cluster = request.snapshot().cluster(config.cluster());
    EndpointConfig endpoint = cluster == null ? null : pick(request, cluster);
    FullHttpRequest check = null;
    if (endpoint != null) {
      try {
        check = build.apply(request);
      } catch (IllegalArgumentException e) {
        check = null;
      }
    }
    if (check == null) {
      done.accept(HttpAuthzCheck.failure(config, stats));
      return UpstreamCalls.Call.ENDED;
    }
    return request.calls().call(request.loop(), cluster, endpoint, check, config.timeoutNanos(),
        ExtAuthzConfig.MAX_RESPONSE_BODY_BYTES, new UpstreamCalls.Callback() {
          @Override
          public void onResponse(UpstreamCalls.Response response) {
            done.accept(answer.apply(response));
          }

          @Override
          public void onFailure(String reason) {
            done.accept(HttpAuthzCheck.failure(config, stats));
          }
        });
  }

  /**
   * The endpoint the check goes to, picked as the router picks (lb_policy, health, outlier ejection), or null when
   * the cluster has none.
   */
  private static EndpointConfig pick(CheckedRequest request, ServingCluster cluster) {
    LoadBalancer lb = SideCallBalancers.forCluster(request.snapshot(), cluster);
    int index = lb.pick();
    return index < 0 ? null : lb.endpoint(index);
  }
}
