package io.keelson.bench.xds;

import com.google.protobuf.Any;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.WireFormat;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.io.InputStream;

/**
 * Reads a DiscoveryResponse as a simulated proxy needs it: version, nonce, type, and the resources
 * of the types it looks into (clusters, for their names); the other resources' bytes are read off
 * the stream and skipped rather than copied into a thousand {@link Any}s. A real proxy parses its
 * config on its own CPU; a thousand simulated ones parsing 10,000-endpoint lists in the control
 * plane's JVM measured the harness, not the control plane. Stateless.
 */
final class LightResponseMarshaller implements MethodDescriptor.Marshaller<DiscoveryResponse> {
  private final MethodDescriptor.Marshaller<DiscoveryResponse> full;
  private final String keptType;

  LightResponseMarshaller(MethodDescriptor.Marshaller<DiscoveryResponse> full, String keptType) {
    this.full = full;
    this.keptType = keptType;
  }

  @Override
  public InputStream stream(DiscoveryResponse value) {
    return full.stream(value);
  }

  @Override
  public DiscoveryResponse parse(InputStream stream) {
    try {
      CodedInputStream in = CodedInputStream.newInstance(stream);
      in.setSizeLimit(Integer.MAX_VALUE);
      DiscoveryResponse.Builder b = DiscoveryResponse.newBuilder();
      while (true) {
        int tag = in.readTag();
        if (tag == 0) {
          return b.build();
        }
        switch (WireFormat.getTagFieldNumber(tag)) {
          case DiscoveryResponse.VERSION_INFO_FIELD_NUMBER -> b.setVersionInfo(in.readStringRequireUtf8());
          case DiscoveryResponse.TYPE_URL_FIELD_NUMBER -> b.setTypeUrl(in.readStringRequireUtf8());
          case DiscoveryResponse.NONCE_FIELD_NUMBER -> b.setNonce(in.readStringRequireUtf8());
          case DiscoveryResponse.RESOURCES_FIELD_NUMBER -> resource(in, b);
          default -> in.skipField(tag);
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read a DiscoveryResponse", e);
    }
  }

  /** An Any (type_url first, as every serializer writes it): kept when of {@link #keptType}, else skipped. */
  private void resource(CodedInputStream in, DiscoveryResponse.Builder b) throws IOException {
    int length = in.readRawVarint32();
    int limit = in.pushLimit(length);
    Any.Builder any = Any.newBuilder();
    boolean keep = true;
    while (keep && !in.isAtEnd()) {
      int tag = in.readTag();
      switch (WireFormat.getTagFieldNumber(tag)) {
        case Any.TYPE_URL_FIELD_NUMBER -> {
          any.setTypeUrl(in.readStringRequireUtf8());
          keep = any.getTypeUrl().equals(keptType);
        }
        case Any.VALUE_FIELD_NUMBER -> any.setValue(in.readBytes());
        default -> in.skipField(tag);
      }
    }
    if (keep) {
      b.addResources(any);
    } else {
      in.skipRawBytes(in.getBytesUntilLimit());
    }
    in.popLimit(limit);
  }
}
