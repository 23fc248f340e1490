package io.keelson.dataplane.stats;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Any;
import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * Istio's TCP metadata exchange frame on wire bytes: what istio/proxy's {@code writeNodeMetadata} builds (magic
 * 0x3D230467, a big-endian length, an Any of a Struct holding the node metadata and id) decodes to the peer, and the
 * frame Keelson writes is what istio/proxy's {@code tryReadInitialProxyHeader}/{@code tryReadProxyData} read.
 */
class PeerExchangeFrameTest {
  private static Value str(String s) {
    return Value.newBuilder().setStringValue(s).build();
  }

  /** The data of an istio/proxy frame: Any{Struct{x-envoy-peer-metadata: node, x-envoy-peer-metadata-id: id}}. */
  private static byte[] istioProxyData(String typeUrl) {
    Struct labels = Struct.newBuilder().putFields("app", str("ratings")).putFields("version", str("v1"))
        .putFields("service.istio.io/canonical-name", str("ratings")).build();
    Struct node = Struct.newBuilder()
        .putFields("NAME", str("ratings-v1-7dc98c7588-xk2qd"))
        .putFields("WORKLOAD_NAME", str("ratings-v1"))
        .putFields("NAMESPACE", str("bookinfo"))
        .putFields("CLUSTER_ID", str("Kubernetes"))
        .putFields("SERVICE_ACCOUNT", str("bookinfo-ratings"))
        .putFields("LABELS", Value.newBuilder().setStructValue(labels).build())
        .putFields("INSTANCE_IPS", Value.newBuilder().setListValue(ListValue.newBuilder().addValues(str("10.0.0.7"))).build())
        .build();
    Struct data = Struct.newBuilder()
        .putFields("x-envoy-peer-metadata", Value.newBuilder().setStructValue(node).build())
        .putFields("x-envoy-peer-metadata-id", str("sidecar~10.0.0.7~ratings-v1-7dc98c7588-xk2qd.bookinfo~bookinfo.svc.cluster.local"))
        .build();
    return Any.newBuilder().setTypeUrl(typeUrl).setValue(data.toByteString()).build().toByteArray();
  }

  @Test
  void decodesTheDataOfAnIstioProxyFrame() {
    MeshIdentity peer = PeerExchangeFrame.decodeKey(PeerExchangeFrame.key(
        istioProxyData("type.googleapis.com/google.protobuf.Struct")));
    assertThat(peer).isEqualTo(new MeshIdentity("ratings-v1", "bookinfo", "ratings", "v1",
        "spiffe://cluster.local/ns/bookinfo/sa/bookinfo-ratings", "Kubernetes"));
  }

  @Test
  void dataThatIsNoAnyOfAStructNamesNoPeer() {
    assertThat(PeerExchangeFrame.decodeKey(PeerExchangeFrame.key(
        istioProxyData("type.googleapis.com/google.protobuf.Value")))).isNull();
    assertThat(PeerExchangeFrame.decodeKey(PeerExchangeFrame.key("garbage\n\u00ff\u0001".getBytes(
        java.nio.charset.StandardCharsets.ISO_8859_1)))).isNull();
    byte[] noMetadata = Any.newBuilder().setTypeUrl("type.googleapis.com/google.protobuf.Struct")
        .setValue(Struct.newBuilder().putFields("x-envoy-peer-metadata", str("flat")).build().toByteString())
        .build().toByteArray();
    assertThat(PeerExchangeFrame.decodeKey(PeerExchangeFrame.key(noMetadata))).isNull();
  }

  @Test
  void theFrameKeelsonWritesIsWhatIstioProxyReads() throws Exception {
    MeshIdentity me = new MeshIdentity("web", "shop", "web", "v1", "spiffe://cluster.local/ns/shop/sa/web-sa", "east");
    byte[] frame = PeerMetadata.of(me).tcpFrame();
    ByteBuffer b = ByteBuffer.wrap(frame);
    assertThat(b.getInt()).isEqualTo(0x3D230467);
    int length = b.getInt();
    assertThat(length).isEqualTo(frame.length - 8);
    Any any = Any.parseFrom(Arrays.copyOfRange(frame, 8, frame.length));
    assertThat(any.getTypeUrl()).isEqualTo("type.googleapis.com/google.protobuf.Struct");
    Struct data = Struct.parseFrom(any.getValue());
    Struct node = data.getFieldsOrThrow("x-envoy-peer-metadata").getStructValue();
    assertThat(node.getFieldsOrThrow("WORKLOAD_NAME").getStringValue()).isEqualTo("web");
    assertThat(node.getFieldsOrThrow("NAMESPACE").getStringValue()).isEqualTo("shop");
    assertThat(node.getFieldsOrThrow("SERVICE_ACCOUNT").getStringValue()).isEqualTo("web-sa");
    assertThat(node.getFieldsOrThrow("CLUSTER_ID").getStringValue()).isEqualTo("east");
    assertThat(node.getFieldsOrThrow("LABELS").getStructValue().getFieldsOrThrow("app").getStringValue()).isEqualTo("web");
    assertThat(data.getFieldsOrThrow("x-envoy-peer-metadata-id").getStringValue()).startsWith("sidecar~");
    assertThat(PeerExchangeFrame.decodeKey(PeerExchangeFrame.key(Arrays.copyOfRange(frame, 8, frame.length))))
        .isEqualTo(me);
  }

  @Test
  void theTcpCacheDecodesEachDistinctFrameOnceAndKeepsNoUndecodableOne() {
    StatsRegistry stats = new StatsRegistry();
    String key = PeerExchangeFrame.key(istioProxyData("type.googleapis.com/google.protobuf.Struct"));
    MeshIdentity first = stats.tcpPeerMetadata().get(key);
    assertThat(stats.tcpPeerMetadata().get(new String(key))).isSameAs(first);
    assertThat(stats.tcpPeerMetadata().get("garbage")).isSameAs(MeshIdentity.UNKNOWN_IDENTITY);
    assertThat(stats.tcpPeerMetadata().size()).isEqualTo(1);
  }
}
