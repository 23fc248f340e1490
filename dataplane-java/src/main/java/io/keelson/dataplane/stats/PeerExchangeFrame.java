package io.keelson.dataplane.stats;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Istio's TCP metadata exchange frame (istio/proxy {@code metadata_exchange}, ALPN {@code istio-peer-exchange}): what
 * each side of an mTLS connection writes first, before any application byte.
 *
 * <pre>
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                     magic 0x3D230467                          |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |                 data length (big endian)                      |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |  data: a serialized google.protobuf.Any of type Struct, whose  |
 *  |  "x-envoy-peer-metadata" is the node metadata Struct and whose |
 *  |  "x-envoy-peer-metadata-id" the node id ...                    |
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * </pre>
 *
 * Stateless.
 */
public final class PeerExchangeFrame {
  /** The ALPN protocol under which both sides exchange frames (istiod's {@code istio-peer-exchange}). */
  public static final String ALPN = "istio-peer-exchange";
  public static final int MAGIC = 0x3D230467;
  public static final int HEADER_BYTES = 8;
  public static final int LENGTH_OFFSET = 4;
  /**
   * The largest data length read (istio/proxy has none; a sidecar's metadata is a few hundred bytes): a longer one is
   * taken as no exchange, as a bad magic is.
   */
  public static final int MAX_DATA_BYTES = 16 * 1024;
  static final String STRUCT_TYPE_URL = "type.googleapis.com/google.protobuf.Struct";

  private PeerExchangeFrame() {}

  /** The frame carrying {@code metadata} (a node metadata Struct) and node {@code id}. */
  static byte[] encode(String id, Struct metadata) {
    Struct data = Struct.newBuilder()
        .putFields(PeerMetadata.HEADER, Value.newBuilder().setStructValue(metadata).build())
        .putFields(PeerMetadata.ID_HEADER, Value.newBuilder().setStringValue(id).build())
        .build();
    byte[] any = Any.newBuilder().setTypeUrl(STRUCT_TYPE_URL).setValue(data.toByteString()).build().toByteArray();
    return ByteBuffer.allocate(HEADER_BYTES + any.length).putInt(MAGIC).putInt(any.length).put(any).array();
  }

  /**
   * The data of a frame as a cache key for {@link #decodeKey}: its bytes as ISO-8859-1 characters, one per byte.
   */
  public static String key(byte[] data) {
    return new String(data, StandardCharsets.ISO_8859_1);
  }

  /**
   * The peer a frame's data names ({@link #key} of the bytes after the header), or null when it is not an Any of a
   * Struct with an {@code x-envoy-peer-metadata} Struct.
   */
  static MeshIdentity decodeKey(String key) {
    try {
      Any any = Any.parseFrom(ByteString.copyFrom(key, StandardCharsets.ISO_8859_1));
      if (!any.getTypeUrl().equals(STRUCT_TYPE_URL)) {
        return null;
      }
      Struct data = Struct.parseFrom(any.getValue());
      Value metadata = data.getFieldsOrDefault(PeerMetadata.HEADER, null);
      if (metadata == null || !metadata.hasStructValue()) {
        return null;
      }
      Value id = data.getFieldsOrDefault(PeerMetadata.ID_HEADER, null);
      return PeerMetadata.fromStruct(id != null && id.hasStringValue() ? id.getStringValue() : null,
          metadata.getStructValue());
    } catch (InvalidProtocolBufferException e) {
      return null;
    }
  }
}
