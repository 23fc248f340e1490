package io.keelson.dataplane.tracing;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Zipkin's proto3 {@code ListOfSpans} (zipkin2/proto3/zipkin.proto; {@code Content-Type: application/x-protobuf}), written
 * field by field: Span {1 trace_id, 2 parent_id, 3 id (big-endian bytes), 4 kind (CLIENT 1, SERVER 2), 5 name,
 * 6 timestamp (fixed64), 7 duration, 8 local_endpoint, 11 tags, 13 shared}; Endpoint {1 service_name, 2 ipv4, 3 ipv6}.
 * Stateless.
 */
final class ZipkinProto {
  private ZipkinProto() {}

  static byte[] encode(List<ZipkinSpan> spans) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream(spans.size() * 400);
      CodedOutputStream out = CodedOutputStream.newInstance(bytes);
      for (ZipkinSpan s : spans) {
        out.writeByteArray(1, span(s));
      }
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // in memory
    }
  }

  private static byte[] span(ZipkinSpan s) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(400);
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    out.writeByteArray(1, s.traceId128 ? longs(s.traceHi, s.traceLo) : longs(s.traceLo));
    if (s.hasParent) {
      out.writeByteArray(2, longs(s.parentId));
    }
    out.writeByteArray(3, longs(s.id));
    out.writeEnum(4, s.client ? 1 : 2);
    if (s.name != null && !s.name.isEmpty()) {
      out.writeString(5, s.name);
    }
    out.writeFixed64(6, s.timestampMicros);
    out.writeUInt64(7, s.durationMicros);
    out.writeByteArray(8, endpoint(s));
    for (int i = 0; i < s.tags; i++) {
      ByteArrayOutputStream entry = new ByteArrayOutputStream(64);
      CodedOutputStream e = CodedOutputStream.newInstance(entry);
      e.writeString(1, s.tagKeys[i]);
      e.writeString(2, s.tagValues[i]);
      e.flush();
      out.writeByteArray(11, entry.toByteArray());
    }
    if (s.shared) {
      out.writeBool(13, true);
    }
    out.flush();
    return bytes.toByteArray();
  }

  private static byte[] endpoint(ZipkinSpan s) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    if (s.serviceName != null && !s.serviceName.isEmpty()) {
      out.writeString(1, s.serviceName);
    }
    if (s.localIp != null) {
      byte[] ip = java.net.InetAddress.ofLiteral(s.localIp).getAddress();
      out.writeByteArray(ip.length == 4 ? 2 : 3, ip);
    }
    out.flush();
    return bytes.toByteArray();
  }

  private static byte[] longs(long... values) {
    byte[] b = new byte[values.length * 8];
    for (int i = 0; i < values.length; i++) {
      for (int j = 0; j < 8; j++) {
        b[i * 8 + j] = (byte) (values[i] >>> (56 - 8 * j));
      }
    }
    return b;
  }
}
