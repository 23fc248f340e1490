package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Builds a transcoded request's gRPC message: the path and query bindings first, then the JSON body (all of it for
 * body {@code "*"}, else into the named field), so a value in the body wins over a binding as in Envoy; a rule
 * without a body ignores the request's. Written as one uncompressed length-prefixed gRPC message. Stateless.
 */
final class RequestMessages {
  private RequestMessages() {}

  /** The framed message; throws {@link IllegalArgumentException} with the reason the client gets (400). */
  static ByteBuf frame(TranscodedCall call, ByteBuf json, ByteBufAllocator alloc) {
    MethodBinding binding = call.binding();
    DynamicMessage.Builder b = DynamicMessage.newBuilder(binding.method().getInputType());
    FieldDescriptor[][] fields = call.fields();
    for (int i = 0; i < fields.length; i++) {
      FieldPaths.set(b, fields[i], 0, call.values()[i]);
    }
    String body = binding.body();
    if (body != null && json.isReadable()) {
      String text = json.toString(StandardCharsets.UTF_8);
      if (!body.equals("*")) {
        text = "{\"" + body + "\":" + text + "}"; // the parser reads a field's JSON only inside its message
      }
      try {
        call.settings().parser().merge(text, b);
      } catch (InvalidProtocolBufferException | RuntimeException e) {
        throw new IllegalArgumentException(e.getMessage() == null ? "invalid JSON body" : e.getMessage());
      }
    }
    byte[] message = b.build().toByteArray();
    ByteBuf out = alloc.buffer(5 + message.length);
    out.writeByte(0).writeInt(message.length).writeBytes(message);
    return out;
  }
}
