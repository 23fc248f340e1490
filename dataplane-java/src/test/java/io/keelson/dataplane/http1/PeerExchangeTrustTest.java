package io.keelson.dataplane.http1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.stats.MeshIdentity;
import io.keelson.dataplane.stats.PeerExchange;
import io.keelson.dataplane.stats.PeerMetadata;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.testing.PrometheusText;
import io.keelson.dataplane.testing.PrometheusText.Sample;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Inbound, the metadata exchange trusts only a mesh mutual TLS caller: a plaintext caller's forged headers are dropped
 * unread and get no answer, and the source principal and namespace are the certificate's, never the metadata's.
 */
class PeerExchangeTrustTest {
  private static final String INBOUND = "inbound|80||";
  /** What an attacker puts in its headers: kube-system's admin. */
  private static final PeerMetadata.Own FORGED =
      PeerMetadata.of(new MeshIdentity("admin", "kube-system", "admin", "v1", "spiffe://cluster.local/ns/kube-system/sa/admin"));

  @BeforeAll
  static void parser() {
    String unavailable = PrometheusText.unavailableReason();
    assumeTrue(unavailable == null, unavailable);
  }

  private static StatsRegistry stats() {
    StatsRegistry stats = new StatsRegistry();
    stats.identity(new MeshIdentity("product", "shop", "product", "v1", "spiffe://cluster.local/ns/shop/sa/product"));
    return stats;
  }

  private static Http1Headers forgedRequest() {
    return new Http1Headers().add(PeerMetadata.ID_HEADER, FORGED.id()).add(PeerMetadata.HEADER, FORGED.value());
  }

  private static Sample requestsTotal(StatsRegistry stats) throws Exception {
    return PrometheusText.parse(stats.toPrometheus()).stream()
        .filter(s -> s.name().equals("istio_requests_total") && s.labels().get("destination_service_name") != null
            && "destination".equals(s.labels().get("reporter")))
        .findFirst().orElseThrow();
  }

  @Test
  void aPlaintextCallersForgedMetadataIsDroppedUnreadAndUnanswered() throws Exception {
    StatsRegistry stats = stats();
    PeerExchange exchange = new PeerExchange(stats);
    Http1Headers request = forgedRequest();
    exchange.onRequest(Http1HeaderAccess.INSTANCE, request, INBOUND, false, null);
    Http1Headers response = new Http1Headers().add("content-length", "0");
    exchange.onResponse(Http1HeaderAccess.INSTANCE, response);
    exchange.record(stats.cluster(INBOUND).istio, 200, ResponseFlag.NONE, 1_000_000, 0, 0);

    assertThat(request.contains(PeerMetadata.HEADER)).as("removed before the app").isFalse();
    assertThat(request.contains(PeerMetadata.ID_HEADER)).isFalse();
    assertThat(response.contains(PeerMetadata.HEADER)).as("no metadata for a plaintext caller").isFalse();
    assertThat(response.contains(PeerMetadata.ID_HEADER)).isFalse();
    assertThat(requestsTotal(stats).labels()).containsEntry("source_workload", "unknown")
        .containsEntry("source_principal", "unknown").containsEntry("source_workload_namespace", "unknown")
        .containsEntry("connection_security_policy", "none");
  }

  @Test
  void overMutualTlsThePrincipalAndNamespaceAreTheCertificatesNotTheMetadatas() throws Exception {
    StatsRegistry stats = stats();
    PeerExchange exchange = new PeerExchange(stats);
    exchange.onRequest(Http1HeaderAccess.INSTANCE, forgedRequest(), INBOUND, false,
        "spiffe://cluster.local/ns/front/sa/web");
    Http1Headers response = new Http1Headers().add("content-length", "0");
    exchange.onResponse(Http1HeaderAccess.INSTANCE, response);
    exchange.record(stats.cluster(INBOUND).istio, 200, ResponseFlag.NONE, 1_000_000, 0, 0);

    assertThat(response.getAll(PeerMetadata.HEADER)).as("a mesh caller that exchanged gets ours")
        .isEqualTo(stats.ownPeerMetadata().value());
    assertThat(requestsTotal(stats).labels()).containsEntry("source_workload", "admin")
        .containsEntry("source_principal", "spiffe://cluster.local/ns/front/sa/web")
        .containsEntry("source_workload_namespace", "front")
        .containsEntry("connection_security_policy", "mutual_tls");
  }

  @Test
  void aMutualTlsCallerThatSentNoMetadataGetsNone() {
    StatsRegistry stats = stats();
    PeerExchange exchange = new PeerExchange(stats);
    exchange.onRequest(Http1HeaderAccess.INSTANCE, new Http1Headers(), INBOUND, false,
        "spiffe://cluster.local/ns/front/sa/web");
    Http1Headers response = new Http1Headers().add("content-length", "0");
    exchange.onResponse(Http1HeaderAccess.INSTANCE, response);
    assertThat(response.contains(PeerMetadata.HEADER)).isFalse();
    assertThat(response.contains(PeerMetadata.ID_HEADER)).isFalse();
  }
}
