package io.keelson.dataplane.filter.grpcjson;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.Base64;

/**
 * Field paths ({@code shelf.theme}) that path variables and query parameters bind, and the text-to-value
 * conversion of google/api/http.proto: only primitive fields and enums (repeated ones take each value in turn),
 * reached through singular message fields. Stateless.
 */
final class FieldPaths {
  private FieldPaths() {}

  /** The fields along {@code path} (proto or JSON names) from {@code type}, or null when a name is unknown or a leaf is not bindable. */
  static FieldDescriptor[] resolve(Descriptor type, String path) {
    String[] names = path.split("\\.", -1);
    FieldDescriptor[] out = new FieldDescriptor[names.length];
    Descriptor at = type;
    for (int i = 0; i < names.length; i++) {
      if (at == null) {
        return null;
      }
      FieldDescriptor f = at.findFieldByName(names[i]);
      if (f == null) {
        for (FieldDescriptor c : at.getFields()) {
          if (c.getJsonName().equals(names[i])) {
            f = c;
          }
        }
      }
      boolean leaf = i == names.length - 1;
      if (f == null || f.isMapField() || (!leaf && (f.isRepeated() || f.getJavaType() != FieldDescriptor.JavaType.MESSAGE))
          || (leaf && f.getJavaType() == FieldDescriptor.JavaType.MESSAGE)) {
        return null;
      }
      out[i] = f;
      at = f.getJavaType() == FieldDescriptor.JavaType.MESSAGE ? f.getMessageType() : null;
    }
    return out;
  }

  /** Sets (or, for a repeated field, adds) {@code value} at {@code path} in {@code b}; throws IllegalArgumentException on a bad value. */
  static void set(Message.Builder b, FieldDescriptor[] path, int i, String value) {
    FieldDescriptor f = path[i];
    if (i == path.length - 1) {
      Object v = convert(f, value);
      if (f.isRepeated()) {
        b.addRepeatedField(f, v);
      } else {
        b.setField(f, v);
      }
      return;
    }
    Message.Builder sub = b.hasField(f) ? ((Message) b.getField(f)).toBuilder() : b.newBuilderForField(f);
    set(sub, path, i + 1, value);
    b.setField(f, sub.build());
  }

  private static Object convert(FieldDescriptor f, String v) {
    try {
      return switch (f.getType()) {
        case STRING -> v;
        case INT32, SINT32, SFIXED32 -> Integer.parseInt(v);
        case UINT32, FIXED32 -> Integer.parseUnsignedInt(v);
        case INT64, SINT64, SFIXED64 -> Long.parseLong(v);
        case UINT64, FIXED64 -> Long.parseUnsignedLong(v);
        case FLOAT -> Float.parseFloat(v);
        case DOUBLE -> Double.parseDouble(v);
        case BOOL -> switch (v) {
          case "true", "1" -> Boolean.TRUE;
          case "false", "0" -> Boolean.FALSE;
          default -> throw new IllegalArgumentException("expected true or false");
        };
        case BYTES -> ByteString.copyFrom(v.indexOf('-') >= 0 || v.indexOf('_') >= 0 ? Base64.getUrlDecoder().decode(v)
            : Base64.getDecoder().decode(v));
        case ENUM -> enumValue(f, v);
        default -> throw new IllegalArgumentException("not a bindable type");
      };
    } catch (IllegalArgumentException e) { // NumberFormatException too
      throw new IllegalArgumentException("Invalid value for field " + f.getName() + ": '" + v + "' (" + e.getMessage() + ")");
    }
  }

  private static EnumValueDescriptor enumValue(FieldDescriptor f, String v) {
    EnumValueDescriptor e = f.getEnumType().findValueByName(v);
    if (e == null && !v.isEmpty() && (Character.isDigit(v.charAt(0)) || v.charAt(0) == '-')) {
      e = f.getEnumType().findValueByNumber(Integer.parseInt(v));
    }
    if (e == null) {
      throw new IllegalArgumentException("no such value of " + f.getEnumType().getFullName());
    }
    return e;
  }
}
