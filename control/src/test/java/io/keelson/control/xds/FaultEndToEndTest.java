package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.route.v3.Route;
import io.envoyproxy.envoy.extensions.filters.http.fault.v3.HTTPFault;
import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;
import io.envoyproxy.envoy.type.v3.FractionalPercent;
import io.keelson.control.policy.PolicyParser;
import io.keelson.control.store.PolicyStore;
import io.keelson.dataplane.testing.RawHttp;
import io.keelson.dataplane.testing.TestUpstream;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Istio VirtualService {@code fault} through Keelson's control plane into a real proxy: the outbound
 * listener carries the fault filter (empty, as istiod sends it) and each faulty rule's routes
 * override it with {@code typed_per_filter_config}; requests on those routes are aborted or delayed,
 * the others are not.
 */
class FaultEndToEndTest {
  private static final String VIRTUAL_SERVICE = """
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: product-service }
      spec:
        hosts: [ product-service ]
        http:
        - name: abort
          match: [ { uri: { prefix: /abort } } ]
          fault: { abort: { httpStatus: 503, percentage: { value: 100 } } }
          route: [ { destination: { host: product-service } } ]
        - name: grpc-abort
          match: [ { uri: { prefix: /grpc } } ]
          fault: { abort: { grpcStatus: UNAVAILABLE, percentage: { value: 100.0 } } }
          route: [ { destination: { host: product-service } } ]
        - name: slow
          match: [ { uri: { prefix: /slow } } ]
          fault: { delay: { fixedDelay: 700ms, percentage: { value: 100 } } }
          route: [ { destination: { host: product-service } } ]
        - name: rest
          route: [ { destination: { host: product-service } } ]
      """;

  private static List<String> registry(int port) {
    return List.of(Mesh.registry(port, port));
  }

  @Test
  void translatesLikeIstiod() throws Exception {
    PolicyStore store = new PolicyStore();
    store.apply(PolicyParser.parse("mesh.yaml", registry(1).getFirst() + "---\n" + VIRTUAL_SERVICE).policies(), false);
    MeshResources r = new MeshTranslator(15001, false).translate(store.current(), List.of());
    HttpConnectionManager hcm = r.listeners().getFirst().getFilterChains(0).getFilters(0).getTypedConfig()
        .unpack(HttpConnectionManager.class);
    assertThat(hcm.getHttpFiltersList()).extracting(f -> f.getName())
        .containsExactly("envoy.filters.http.cors", "envoy.filters.http.fault", "envoy.filters.http.router");
    assertThat(hcm.getHttpFilters(1).getTypedConfig().unpack(HTTPFault.class)).isEqualTo(HTTPFault.getDefaultInstance());
    List<Route> routes = r.routes().getFirst().getVirtualHosts(0).getRoutesList();
    HTTPFault abort = routes.get(0).getTypedPerFilterConfigOrThrow("envoy.filters.http.fault").unpack(HTTPFault.class);
    assertThat(abort.getAbort().getHttpStatus()).isEqualTo(503);
    assertThat(abort.getAbort().getPercentage()).isEqualTo(FractionalPercent.newBuilder().setNumerator(1_000_000)
        .setDenominator(FractionalPercent.DenominatorType.MILLION).build());
    assertThat(abort.hasDelay()).isFalse();
    HTTPFault grpc = routes.get(1).getTypedPerFilterConfigOrThrow("envoy.filters.http.fault").unpack(HTTPFault.class);
    assertThat(grpc.getAbort().getGrpcStatus()).isEqualTo(14);
    HTTPFault slow = routes.get(2).getTypedPerFilterConfigOrThrow("envoy.filters.http.fault").unpack(HTTPFault.class);
    assertThat(slow.getDelay().getFixedDelay()).isEqualTo(com.google.protobuf.Duration.newBuilder().setNanos(700_000_000).build());
    assertThat(slow.getDelay().getPercentage().getNumerator()).isEqualTo(1_000_000);
    assertThat(slow.hasAbort()).isFalse();
    assertThat(routes.get(3).getTypedPerFilterConfigMap()).isEmpty();
  }

  @Test
  void aSidecarAbortsAndDelaysTheFaultyRoutesOnly() throws Exception {
    try (TestUpstream app = new TestUpstream("v1"); SidecarOverAds sidecar = new SidecarOverAds("fault-sidecar")) {
      sidecar.apply(registry(app.port()).getFirst() + "---\n" + VIRTUAL_SERVICE);
      sidecar.awaitServing("product-service", "/items");
      int port = sidecar.port();
      int before = app.requests.get();
      try (RawHttp http = new RawHttp(port)) {
        for (int i = 0; i < 3; i++) {
          RawHttp.Response r = http.send("GET /abort/" + i + " HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
          assertThat(r.status()).isEqualTo(503);
          assertThat(r.body()).isEqualTo("fault filter abort");
        }
        RawHttp.Response grpc = http.send("POST /grpc/Svc/Method HTTP/1.1\r\nHost: product-service\r\n"
            + "content-type: application/grpc\r\ncontent-length: 0\r\n\r\n").read();
        assertThat(grpc.status()).isEqualTo(200);
        assertThat(grpc.header("grpc-status")).isEqualTo("14");
      }
      assertThat(app.requests.get()).as("aborted requests never reach the app").isEqualTo(before);
      try (RawHttp http = new RawHttp(port)) {
        long start = System.nanoTime();
        RawHttp.Response slow = http.send("GET /slow HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
        long slowMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(slow.status()).isEqualTo(200);
        assertThat(slowMillis).as("the delayed route waits its fixedDelay").isGreaterThanOrEqualTo(700);
        RawHttp.Response rest = http.send("GET /other HTTP/1.1\r\nHost: product-service\r\n\r\n").read();
        assertThat(rest.status()).isEqualTo(200);
      }
      assertThat(app.requests.get()).isEqualTo(before + 2);
    }
  }
}
