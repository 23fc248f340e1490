package io.keelson.control.xds;

import com.google.protobuf.Any;
import io.envoyproxy.envoy.extensions.filters.common.fault.v3.FaultDelay;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.FaultAbort;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.keelson.control.policy.Policy;

/**
 * Istio {@code fault} to Envoy, as istiod does: the outbound HttpConnectionManager carries
 * {@value #FILTER} with an empty {@link HTTPFault} (no fault) before the router, and a rule with a
 * fault overrides it on its routes through {@code typed_per_filter_config}. Shares are per million.
 * Stateless.
 */
final class FaultBuilder {
  static final String FILTER = "envoy.filters.http.fault";
  static final HttpFilter FILTER_ENTRY = HttpFilter.newBuilder().setName(FILTER)
      .setTypedConfig(Any.pack(HTTPFault.getDefaultInstance())).build();

  private FaultBuilder() {}

  static Any perRoute(Policy.Fault f) {
    HTTPFault.Builder b = HTTPFault.newBuilder();
    if (f.delay() != null) {
      b.setDelay(FaultDelay.newBuilder()
          .setFixedDelay(com.google.protobuf.Duration.newBuilder()
              .setSeconds(f.delay().getSeconds()).setNanos(f.delay().getNano()))
          .setPercentage(perMillion(f.delayPerMillion())));
    }
    if (f.hasAbort()) {
      FaultAbort.Builder a = FaultAbort.newBuilder().setPercentage(perMillion(f.abortPerMillion()));
      if (f.grpcStatus() >= 0) {
        a.setGrpcStatus(f.grpcStatus());
      } else {
        a.setHttpStatus(f.httpStatus());
      }
      b.setAbort(a);
    }
    return Any.pack(b.build());
  }

  private static FractionalPercent perMillion(int n) {
    return FractionalPercent.newBuilder().setNumerator(n)
        .setDenominator(FractionalPercent.DenominatorType.MILLION).build();
  }
}
