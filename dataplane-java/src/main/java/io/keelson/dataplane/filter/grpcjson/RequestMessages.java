package io.keelson.dataplane.filter.grpcjson;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Builds a transcoded request's gRPC message as Envoy's request weaver does: the path and query bindings, then the
 * JSON body (all of it for body {@code "*"}, else the value of the named field) parsed on its own and merged over
 * them, so a singular field the body sets wins over its binding and a repeated one gets both (Envoy keeps the
 * binding's values too); a rule without a body ignores the request's. The body must be exactly one JSON value:
 * anything after it is an error, so a client never reaches a field the rule does not expose. Stateless.
 */
final class RequestMessages {
  /** Strict: one value, nothing after it, no duplicate keys; numbers kept exact for the protobuf parser. */
  private static final JsonMapper JSON = JsonMapper.builder()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
      .build();

  private RequestMessages() {}

  /** The message the bindings alone make; throws {@link IllegalArgumentException} with the reason the client gets (400). */
  static DynamicMessage bound(MethodBinding binding, FieldDescriptor[][] fields, String[] values) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(binding.method().getInputType());
    for (int i = 0; i < fields.length; i++) {
      FieldPaths.set(b, fields[i], 0, values[i]);
    }
    return b.build();
  }

  /**
   * The request message: {@code call}'s bindings with {@code json} (the whole body, empty for none) merged over
   * them; throws {@link IllegalArgumentException} with the reason the client gets (400).
   */
  static DynamicMessage message(TranscodedCall call, String json) {
    String body = call.binding().body();
    if (body == null || json.isEmpty()) {
      return call.bound();
    }
    DynamicMessage.Builder fromBody = DynamicMessage.newBuilder(call.binding().method().getInputType());
    try {
      JsonNode value = JSON.readTree(json);
      if (value == null || value.isMissingNode()) {
        return call.bound(); // only whitespace: no body
      }
      if (body.equals("*")) {
        call.settings().parser().merge(JSON.writeValueAsString(value), fromBody);
      } else {
        FieldDescriptor field = fromBody.getDescriptorForType().findFieldByName(body);
        // the parsed value, re-serialized as the one member of an object: the client's text never leaves its field
        call.settings().parser().merge(JSON.writeValueAsString(JSON.createObjectNode().set(field.getName(), value)), fromBody);
      }
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("invalid JSON body: " + e.getOriginalMessage());
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      throw new IllegalArgumentException(e.getMessage() == null ? "invalid JSON body" : e.getMessage());
    }
    return call.bound().toBuilder().mergeFrom(fromBody.build()).build();
  }

  /** {@code message} as one uncompressed length-prefixed gRPC message. */
  static ByteBuf frame(byte[] message, ByteBufAllocator alloc) {
    ByteBuf out = alloc.buffer(5 + message.length);
    out.writeByte(0).writeInt(message.length).writeBytes(message);
    return out;
  }
}
