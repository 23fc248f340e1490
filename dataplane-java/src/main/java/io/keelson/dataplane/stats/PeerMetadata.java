package io.keelson.dataplane.stats;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Istio's HTTP metadata exchange encoding (istio/proxy {@code metadata_exchange}): a sidecar sends
 * {@code x-envoy-peer-metadata-id} (its node id) and {@code x-envoy-peer-metadata}, the base64 of a serialized
 * {@code google.protobuf.Struct} of its node metadata ({@code NAME}, {@code WORKLOAD_NAME}, {@code NAMESPACE},
 * {@code LABELS}, {@code SERVICE_ACCOUNT}, {@code CLUSTER_ID}...). Stateless.
 */
public final class PeerMetadata {
  public static final String ID_HEADER = "x-envoy-peer-metadata-id";
  public static final String HEADER = "x-envoy-peer-metadata";

  private PeerMetadata() {}

  /** Removes both exchange headers from Netty HTTP headers (a mirror copy, a tunnel's answer). */
  public static void removeFrom(io.netty.handler.codec.http.HttpHeaders headers) {
    headers.remove(HEADER);
    headers.remove(ID_HEADER);
  }

  /**
   * What a proxy sends for itself, computed once per identity: the two header values, and the TCP exchange's frame
   * ({@link PeerExchangeFrame}) of the same metadata. Immutable (the frame array is never written).
   */
  public record Own(String id, String value, byte[] tcpFrame) {}

  /** {@code me} as the two headers' values. */
  public static Own of(MeshIdentity me) {
    Struct.Builder labels = Struct.newBuilder();
    putKnown(labels, "app", me.app());
    putKnown(labels, "version", me.version());
    putKnown(labels, "service.istio.io/canonical-name", me.app().equals(MeshIdentity.UNKNOWN) ? me.workload() : me.app());
    putKnown(labels, "service.istio.io/canonical-revision", me.version().equals(MeshIdentity.UNKNOWN) ? "latest" : me.version());
    Struct.Builder s = Struct.newBuilder();
    putKnown(s, "NAME", me.workload());
    putKnown(s, "WORKLOAD_NAME", me.workload());
    putKnown(s, "NAMESPACE", me.namespace());
    putKnown(s, "CLUSTER_ID", me.cluster()); // Istio's source_cluster / destination_cluster
    if (!me.principal().equals(MeshIdentity.UNKNOWN)) {
      putKnown(s, "SERVICE_ACCOUNT", MeshIdentity.spiffeServiceAccount(me.principal()));
      int start = me.principal().indexOf("://");
      int end = me.principal().indexOf('/', start + 3);
      if (start > 0 && end > start) {
        putKnown(s, "TRUST_DOMAIN", me.principal().substring(start + 3, end));
      }
    }
    s.putFields("LABELS", Value.newBuilder().setStructValue(labels).build());
    String ns = me.namespace().equals(MeshIdentity.UNKNOWN) ? "default" : me.namespace();
    String id = "sidecar~0.0.0.0~" + me.workload() + "." + ns + "~" + ns + ".svc.cluster.local";
    Struct metadata = s.build();
    return new Own(id, Base64.getEncoder().encodeToString(metadata.toByteArray()), PeerExchangeFrame.encode(id, metadata));
  }

  /**
   * The peer named by an {@code x-envoy-peer-metadata} value, or null when it is not base64 of a Struct. The principal
   * is {@code spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT} (trust domain {@code cluster.local} when not
   * sent), as the peer's certificate would say; a connection's own peer certificate takes precedence where there is one.
   */
  public static MeshIdentity decode(String value) {
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(value.trim());
    } catch (IllegalArgumentException e) {
      return null;
    }
    try {
      return fromStruct(null, Struct.parseFrom(bytes));
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }

  /** The peer a node metadata Struct names (with its node id, or null), as {@link #decode} reads it. */
  static MeshIdentity fromStruct(String id, Struct metadata) {
    return MeshIdentity.fromNode(id, null, toMap(metadata));
  }

  private static void putKnown(Struct.Builder s, String key, String value) {
    if (value != null && !value.isEmpty() && !value.equals(MeshIdentity.UNKNOWN)) {
      s.putFields(key, Value.newBuilder().setStringValue(value).build());
    }
  }

  /** A Struct as the map {@link MeshIdentity#fromNode} reads: string values, nested structs as maps, the rest null. */
  public static Map<String, Object> toMap(Struct s) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<String, Value> e : s.getFieldsMap().entrySet()) {
      Value v = e.getValue();
      out.put(e.getKey(), switch (v.getKindCase()) {
        case STRING_VALUE -> v.getStringValue();
        case STRUCT_VALUE -> toMap(v.getStructValue());
        default -> null;
      });
    }
    return out;
  }
}
