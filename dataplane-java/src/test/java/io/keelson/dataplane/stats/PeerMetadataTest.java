package io.keelson.dataplane.stats;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Istio's metadata exchange encoding (base64 of a serialized google.protobuf.Struct), the bounded cache of decoded
 * values, the bounded peer dimension of the request series, and the labels a peer gives.
 */
class PeerMetadataTest {
  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  /** What an Istio sidecar sends: its node metadata Struct, with non-string fields too. */
  private static String istioHeader() {
    Struct labels = Struct.newBuilder()
        .putFields("app", str("reviews"))
        .putFields("version", str("v2"))
        .putFields("service.istio.io/canonical-name", str("reviews"))
        .putFields("service.istio.io/canonical-revision", str("v2"))
        .putFields("pod-template-hash", str("7f9c8d"))
        .build();
    Struct node = Struct.newBuilder()
        .putFields("NAME", str("reviews-v2-7f9c8d-abcde"))
        .putFields("WORKLOAD_NAME", str("reviews-v2"))
        .putFields("NAMESPACE", str("bookinfo"))
        .putFields("CLUSTER_ID", str("Kubernetes"))
        .putFields("SERVICE_ACCOUNT", str("bookinfo-reviews"))
        .putFields("MESH_ID", str("cluster.local"))
        .putFields("ISTIO_VERSION", str("1.22.0"))
        .putFields("LABELS", Value.newBuilder().setStructValue(labels).build())
        .putFields("INSTANCE_IPS", Value.newBuilder().setListValue(ListValue.newBuilder().addValues(str("10.0.0.7"))).build())
        .putFields("APP_CONTAINERS", Value.newBuilder().setNumberValue(1).build())
        .build();
    return Base64.getEncoder().encodeToString(node.toByteArray());
  }

  @Test
  void decodesAHeaderInIstiosEncoding() {
    MeshIdentity peer = PeerMetadata.decode(istioHeader());
    assertThat(peer).isEqualTo(new MeshIdentity("reviews-v2", "bookinfo", "reviews", "v2",
        "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews", "Kubernetes"));
  }

  @Test
  void encodesWhatIstioReadsAndDecodesBackToTheSameIdentity() throws Exception {
    MeshIdentity me = new MeshIdentity("web", "shop", "web", "v1", "spiffe://example.org/ns/shop/sa/web-sa", "Kubernetes");
    PeerMetadata.Own own = PeerMetadata.of(me);
    Struct s = Struct.parseFrom(Base64.getDecoder().decode(own.value()));
    assertThat(s.getFieldsMap()).containsKeys("NAME", "WORKLOAD_NAME", "NAMESPACE", "LABELS", "CLUSTER_ID", "SERVICE_ACCOUNT");
    assertThat(s.getFieldsOrThrow("SERVICE_ACCOUNT").getStringValue()).isEqualTo("web-sa");
    assertThat(s.getFieldsOrThrow("LABELS").getStructValue().getFieldsOrThrow("service.istio.io/canonical-name")
        .getStringValue()).isEqualTo("web");
    assertThat(own.id()).isEqualTo("sidecar~0.0.0.0~web.shop~shop.svc.cluster.local");
    assertThat(PeerMetadata.decode(own.value())).isEqualTo(me);
  }

  @Test
  void aValueThatIsNotBase64OfAStructIsAnUnknownPeer() {
    assertThat(PeerMetadata.decode("not base64!")).isNull();
    assertThat(PeerMetadata.decode(Base64.getEncoder().encodeToString(new byte[] {(byte) 0xff, 0x01}))).isNull();
    PeerMetadataCache cache = new PeerMetadataCache();
    assertThat(cache.get("%%%")).isSameAs(MeshIdentity.UNKNOWN_IDENTITY);
    assertThat(cache.size()).as("an undecodable value is not kept").isZero();
  }

  @Test
  void theCacheDecodesEachValueOnceAndKeepsAtMostItsBound() {
    PeerMetadataCache cache = new PeerMetadataCache(4);
    String header = istioHeader();
    MeshIdentity first = cache.get(header);
    assertThat(cache.get(new String(header))).as("a hit: the decoded instance, not a new decode").isSameAs(first);
    for (int i = 0; i < 10; i++) {
      String value = PeerMetadata.of(new MeshIdentity("w" + i, "ns", "a", "v", null)).value();
      MeshIdentity id = cache.get(value);
      assertThat(id.workload()).isEqualTo("w" + i);
      assertThat(cache.get(new String(value))).as("a new peer past the bound is kept too").isSameAs(id);
      assertThat(cache.get(header)).as("the peer that keeps calling stays").isSameAs(first);
    }
    assertThat(cache.size()).isEqualTo(4);
  }

  @Test
  void anOverflowPeerKeepsItsMutualTlsAndGrpcAttributes() {
    IstioDestination d = new IstioDestination("inbound|80||");
    int mtlsGrpc = IstioPeer.MUTUAL_TLS | IstioPeer.GRPC;
    for (int i = 0; i < IstioDestination.MAX_PEERS + 3; i++) {
      d.record(new MeshIdentity("w" + i, "ns", "a", "v", null), "spiffe://cluster.local/ns/ns/sa/w" + i, mtlsGrpc,
          200, 0, ResponseFlag.NONE, 1_000_000, 10, 10);
    }
    d.record(MeshIdentity.UNKNOWN_IDENTITY, null, 0, 200, -1, ResponseFlag.NONE, 1_000_000, 10, 10);
    MeshIdentity me = new MeshIdentity("product", "shop", "product", "v1", null);
    Map<String, Long> overflow = new HashMap<>();
    for (IstioSeries s : d.series()) {
      if (s.peer.identity() == MeshIdentity.UNKNOWN_IDENTITY) {
        Map<String, String> l = labels(IstioWriter.destinationLabels(me, d.cluster, s.peer));
        overflow.merge(l.get("connection_security_policy") + "/" + l.get("request_protocol"), s.count.sum(), Long::sum);
      }
    }
    assertThat(overflow).containsEntry("mutual_tls/grpc", 3L).containsEntry("none/http", 1L).hasSize(2);
  }

  @Test
  void aDestinationKeepsAtMostItsBoundOfPeersAndCountsTheRestAsUnknown() {
    IstioDestination d = new IstioDestination("inbound|80||");
    for (int i = 0; i < IstioDestination.MAX_PEERS + 36; i++) {
      MeshIdentity peer = new MeshIdentity("w" + i, "ns", "a", "v", null);
      d.record(peer, null, 0, 200, -1, ResponseFlag.NONE, 1_000_000, 10, 10);
      d.record(peer, null, 0, 200, -1, ResponseFlag.NONE, 1_000_000, 10, 10);
    }
    Set<IstioPeer> peers = new HashSet<>();
    long overflow = 0;
    for (IstioSeries s : d.series()) {
      peers.add(s.peer);
      if (s.peer == IstioPeer.UNKNOWN) {
        overflow = s.count.sum();
      }
    }
    assertThat(peers).hasSize(IstioDestination.MAX_PEERS + 1);
    assertThat(overflow).isEqualTo(2 * 36);
  }

  @Test
  void theInboundReporterNamesTheCallerByItsCertificateAndSaysMutualTls() {
    MeshIdentity me = new MeshIdentity("product", "shop", "product", "v1", "spiffe://cluster.local/ns/shop/sa/product");
    MeshIdentity caller = new MeshIdentity("web", "unknown", "web", "v2", null);
    Map<String, String> l = labels(IstioWriter.destinationLabels(me, "inbound|80||",
        new IstioPeer(caller, "spiffe://cluster.local/ns/front/sa/web", IstioPeer.MUTUAL_TLS | IstioPeer.GRPC)));
    assertThat(l).containsEntry("reporter", "destination")
        .containsEntry("source_workload", "web")
        .containsEntry("source_workload_namespace", "front")
        .containsEntry("source_principal", "spiffe://cluster.local/ns/front/sa/web")
        .containsEntry("source_version", "v2")
        .containsEntry("destination_principal", "spiffe://cluster.local/ns/shop/sa/product")
        .containsEntry("request_protocol", "grpc")
        .containsEntry("connection_security_policy", "mutual_tls");
    Map<String, String> out = labels(IstioWriter.destinationLabels(me, "outbound|80||reviews.shop.svc.cluster.local",
        new IstioPeer(caller, null, 0)));
    assertThat(out).containsEntry("reporter", "source").containsEntry("destination_workload", "web")
        .containsEntry("destination_app", "web").containsEntry("source_workload", "product")
        .containsEntry("connection_security_policy", "unknown").containsEntry("request_protocol", "http");
  }

  @Test
  void aKeelsonSidecarsNodeLabelsGiveItsAppAndVersion() {
    MeshIdentity id = MeshIdentity.fromNode("web-1234", "web", Map.of("keelson.io/labels", Map.of("app", "web", "version", "v3")))
        .withPrincipal("spiffe://cluster.local/ns/shop/sa/web");
    assertThat(id).isEqualTo(new MeshIdentity("web", "shop", "web", "v3", "spiffe://cluster.local/ns/shop/sa/web"));
  }

  private static Map<String, String> labels(String[] l) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < l.length; i += 2) {
      m.put(l[i], l[i + 1]);
    }
    return m;
  }
}
