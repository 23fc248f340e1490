package io.keelson.control.xds;

import static org.assertj.core.api.Assertions.assertThat;

import io.envoyproxy.envoy.config.cluster.v3.Cluster;
import io.envoyproxy.envoy.config.route.v3.Route;
import io.keelson.dataplane.config.HashPolicy;
import io.keelson.dataplane.config.LbPolicy;
import io.keelson.dataplane.config.ProxySnapshot;
import io.keelson.dataplane.config.RouteAction;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * DestinationRule {@code consistentHash} to Envoy as istiod translates it (RING_HASH or MAGLEV clusters, the hash key
 * on the routes), checked on the Envoy resources and on the data plane's own translation of them.
 */
class ConsistentHashTranslationTest {
  private static MeshResources translate(String yaml) throws Exception {
    return Mesh.translateWithRegistry(yaml);
  }

  private static ProxySnapshot dataPlane(MeshResources r) throws Exception {
    return Mesh.dataPlane(r);
  }

  private static Cluster cluster(MeshResources r, String name) {
    return Mesh.cluster(r, name);
  }

  private static List<Route> routes(MeshResources r) {
    return r.routes().getFirst().getVirtualHostsList().stream()
        .filter(vh -> vh.getName().startsWith("product-service")).findFirst().orElseThrow().getRoutesList();
  }

  private static RouteAction.Forward forward(ProxySnapshot s, int route) {
    var l = s.listeners().stream().filter(x -> x.http() != null).findFirst().orElseThrow();
    var vh = l.http().routeConfig().virtualHosts().stream()
        .filter(v -> v.name().startsWith("product-service")).findFirst().orElseThrow();
    return (RouteAction.Forward) vh.routes().get(route).action();
  }

  @Test
  void aHeaderKeyMakesARingHashClusterAndHashesTheDefaultRoute() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product }
        spec:
          host: product-service
          trafficPolicy: { loadBalancer: { consistentHash: { httpHeaderName: X-User } } }
        """);
    Cluster c = cluster(r, "product-service");
    assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
    assertThat(c.getRingHashLbConfig().getMinimumRingSize().getValue()).isEqualTo(1024); // istiod's default
    var hash = routes(r).getFirst().getRoute().getHashPolicyList();
    assertThat(hash).hasSize(1);
    assertThat(hash.getFirst().getHeader().getHeaderName()).isEqualTo("x-user");

    ProxySnapshot s = dataPlane(r);
    assertThat(s.clusters().get("product-service").lbPolicy()).isEqualTo(LbPolicy.RING_HASH);
    assertThat(forward(s, 0).hashPolicies()).containsExactly(new HashPolicy(HashPolicy.Source.HEADER, "x-user", false));
  }

  @Test
  void aSubsetsMaglevCookieReplacesTheRulesKeyOnRoutesToThatSubsetAndRetriesKeepTheHash() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product }
        spec:
          host: product-service
          trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true, ringHash: { minimumRingSize: 4096 } } } }
          subsets:
          - name: v1
            labels: { version: v1 }
            trafficPolicy:
              loadBalancer: { consistentHash: { httpCookie: { name: session, ttl: 0s, path: / }, maglev: { tableSize: 65537 } } }
          - name: v2
            labels: { version: v2 }
            trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST } }
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: product }
        spec:
          hosts: [ product-service ]
          http:
          - match: [ { headers: { x-v: { exact: "1" } } } ]
            route: [ { destination: { host: product-service, subset: v1 } } ]
            retries: { attempts: 2 }
          - match: [ { headers: { x-v: { exact: "2" } } } ]
            route: [ { destination: { host: product-service, subset: v2 } } ]
            retries: { attempts: 2 }
          - route:
            - { destination: { host: product-service, subset: v1 }, weight: 50 }
            - { destination: { host: product-service }, weight: 50 }
        """);
    assertThat(cluster(r, "product-service").getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
    assertThat(cluster(r, "product-service").getRingHashLbConfig().getMinimumRingSize().getValue()).isEqualTo(4096);
    Cluster v1 = cluster(r, MeshTranslator.subsetCluster("product-service", "v1"));
    assertThat(v1.getLbPolicy()).isEqualTo(Cluster.LbPolicy.MAGLEV);
    assertThat(v1.getMaglevLbConfig().getTableSize().getValue()).isEqualTo(65537);
    assertThat(cluster(r, MeshTranslator.subsetCluster("product-service", "v2")).getLbPolicy())
        .isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);

    List<Route> routes = routes(r);
    var toV1 = routes.get(0).getRoute();
    assertThat(toV1.getHashPolicyList()).hasSize(1);
    assertThat(toV1.getHashPolicy(0).getCookie().getName()).isEqualTo("session");
    assertThat(toV1.getHashPolicy(0).getCookie().getTtl().getSeconds()).isZero();
    assertThat(toV1.getHashPolicy(0).getCookie().hasTtl()).isTrue(); // a session cookie is generated
    assertThat(toV1.getRetryPolicy().getRetryHostPredicateList()).as("retries keep the hash, as istiod's").isEmpty();
    var toV2 = routes.get(1).getRoute();
    assertThat(toV2.getHashPolicyList()).isEmpty();
    assertThat(toV2.getRetryPolicy().getRetryHostPredicate(0).getName())
        .isEqualTo(ResilienceBuilder.PREVIOUS_HOSTS);
    // A split: each destination's key, once each, in destination order.
    var split = routes.get(2).getRoute().getHashPolicyList();
    assertThat(split).hasSize(2);
    assertThat(split.get(0).getCookie().getName()).isEqualTo("session");
    assertThat(split.get(1).getConnectionProperties().getSourceIp()).isTrue();

    ProxySnapshot s = dataPlane(r);
    assertThat(s.clusters().get(MeshTranslator.subsetCluster("product-service", "v1")).lbPolicy())
        .isEqualTo(LbPolicy.MAGLEV);
    HashPolicy cookie = forward(s, 0).hashPolicies().getFirst();
    assertThat(cookie.generatesCookie()).isTrue();
    assertThat(cookie.cookiePath()).isEqualTo("/");
    assertThat(forward(s, 2).hashPolicies()).extracting(HashPolicy::source)
        .containsExactly(HashPolicy.Source.COOKIE, HashPolicy.Source.SOURCE_IP);
  }

  @Test
  void warmupIsTheRoundRobinOrLeastRequestSlowStart() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: product }
        spec:
          host: product-service
          trafficPolicy: { loadBalancer: { warmupDurationSecs: 60s } }
          subsets:
          - name: v2
            labels: { version: v2 }
            trafficPolicy: { loadBalancer: { simple: LEAST_REQUEST, warmup: { duration: 30s, minimumPercent: 25, aggression: 1.5 } } }
        """);
    var rr = cluster(r, "product-service");
    assertThat(rr.getLbPolicy()).isEqualTo(Cluster.LbPolicy.ROUND_ROBIN);
    assertThat(rr.getRoundRobinLbConfig().getSlowStartConfig().getSlowStartWindow().getSeconds()).isEqualTo(60);
    assertThat(rr.getRoundRobinLbConfig().getSlowStartConfig().getAggression().getDefaultValue()).isEqualTo(1.0);
    assertThat(rr.getRoundRobinLbConfig().getSlowStartConfig().getMinWeightPercent().getValue()).isEqualTo(10.0);
    var lr = cluster(r, MeshTranslator.subsetCluster("product-service", "v2"));
    assertThat(lr.getLbPolicy()).isEqualTo(Cluster.LbPolicy.LEAST_REQUEST);
    assertThat(lr.getLeastRequestLbConfig().getSlowStartConfig().getSlowStartWindow().getSeconds()).isEqualTo(30);
    assertThat(lr.getLeastRequestLbConfig().getSlowStartConfig().getAggression().getDefaultValue()).isEqualTo(1.5);
    assertThat(lr.getLeastRequestLbConfig().getSlowStartConfig().getMinWeightPercent().getValue()).isEqualTo(25.0);

    ProxySnapshot s = dataPlane(r);
    assertThat(s.clusters().get("product-service").lb().slowStart())
        .isEqualTo(new io.keelson.dataplane.config.SlowStartConfig(java.time.Duration.ofSeconds(60), 1.0, 10.0));
    assertThat(s.clusters().get(MeshTranslator.subsetCluster("product-service", "v2")).lb().slowStart())
        .isEqualTo(new io.keelson.dataplane.config.SlowStartConfig(java.time.Duration.ofSeconds(30), 1.5, 25.0));
  }

  @Test
  void aServiceEntryHostHashesToo() throws Exception {
    MeshResources r = translate("""
        apiVersion: networking.istio.io/v1
        kind: ServiceEntry
        metadata: { name: api }
        spec:
          hosts: [ api.example.test ]
          resolution: STATIC
          ports: [ { number: 80, name: http, protocol: HTTP } ]
          endpoints: [ { address: 127.0.0.1 }, { address: 127.0.0.2 } ]
        ---
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: api }
        spec:
          host: api.example.test
          trafficPolicy: { loadBalancer: { consistentHash: { httpQueryParameterName: user } } }
        """);
    Cluster c = r.clusters().stream().filter(x -> x.getName().endsWith("api.example.test")).findFirst().orElseThrow();
    assertThat(c.getLbPolicy()).isEqualTo(Cluster.LbPolicy.RING_HASH);
    var vh = r.routes().getFirst().getVirtualHostsList().stream()
        .filter(v -> v.getName().startsWith("api.example.test")).findFirst().orElseThrow();
    assertThat(vh.getRoutes(0).getRoute().getHashPolicy(0).getQueryParameter().getName()).isEqualTo("user");
    dataPlane(r); // the data plane takes it
  }
}
