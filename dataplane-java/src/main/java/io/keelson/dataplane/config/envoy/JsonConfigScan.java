package io.keelson.dataplane.config.envoy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Applies {@link SupportedFields} to the JSON tree before protobuf parses it: ignorable fields are
 * warned about and removed, unsupported fields and unknown typed_config types are reported with
 * their field path and removed. Removing them lets the parse go on (protobuf cannot parse an
 * {@code Any} of a type it does not know, such as an access logger's) so that every problem is
 * reported at once. Keys may be Envoy's snake_case or protobuf's lowerCamelCase; paths always use
 * snake_case. Stateless.
 */
final class JsonConfigScan {
  private JsonConfigScan() {}

  static void scan(ObjectNode root, Descriptor type, Problems problems) {
    scanMessage(root, type, "", problems);
  }

  private static void scanMessage(ObjectNode node, Descriptor type, String path, Problems problems) {
    if (!SupportedFields.hasRules(type)) {
      return;
    }
    List<String> remove = new ArrayList<>();
    for (Map.Entry<String, JsonNode> e : node.properties()) {
      FieldDescriptor field = field(type, e.getKey());
      if (field == null) {
        continue; // protobuf's parser names unknown fields
      }
      String name = field.getName();
      String fieldPath = path.isEmpty() ? name : path + "." + name;
      String why = SupportedFields.ignoredReason(type, name);
      if (why != null) {
        problems.warn(fieldPath, why);
        remove.add(e.getKey());
      } else if (!SupportedFields.isSupported(type, name)) {
        problems.error(fieldPath, SupportedFields.unsupported(type, name));
        remove.add(e.getKey());
      } else if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE
          && !scanField(e.getValue(), field, fieldPath, problems)) {
        remove.add(e.getKey());
      }
    }
    remove.forEach(node::remove);
  }

  /** @return false when a singular field must be dropped */
  private static boolean scanField(JsonNode value, FieldDescriptor field, String path, Problems problems) {
    if (field.isMapField()) {
      FieldDescriptor valueField = field.getMessageType().findFieldByName("value");
      if (value instanceof ObjectNode map && valueField.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
        List<String> remove = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : map.properties()) {
          if (!scanValue(e.getValue(), valueField.getMessageType(), path + "[\"" + e.getKey() + "\"]", problems)) {
            remove.add(e.getKey());
          }
        }
        remove.forEach(map::remove);
      }
    } else if (field.isRepeated()) {
      if (value.isArray()) {
        for (int i = value.size() - 1; i >= 0; i--) {
          if (!scanValue(value.get(i), field.getMessageType(), path + "[" + i + "]", problems)) {
            ((com.fasterxml.jackson.databind.node.ArrayNode) value).remove(i);
          }
        }
      }
    } else {
      return scanValue(value, field.getMessageType(), path, problems);
    }
    return true;
  }

  /** @return false when the value must be dropped (an Any of a type Keelson does not know) */
  private static boolean scanValue(JsonNode value, Descriptor type, String path, Problems problems) {
    if (!(value instanceof ObjectNode object)) {
      return true;
    }
    if (isOptionalUnknownFilter(object, type)) {
      problems.warn(path, "http filter '" + object.path("name").asText() + "' ("
          + SupportedTypes.typeName(object.path("typed_config").path("@type").asText(object.path("typedConfig").path("@type").asText()))
          + ") is not supported and is_optional: skipped");
      return false;
    }
    if (type.getFullName().equals("google.protobuf.Any")) {
      JsonNode url = object.get("@type");
      if (url == null || !url.isTextual()) {
        return true; // protobuf's parser reports it
      }
      Descriptor actual = SupportedTypes.REGISTRY.find(SupportedTypes.typeName(url.asText()));
      if (actual == null) {
        problems.error(path, unknownType(SupportedTypes.typeName(url.asText()), path));
        return false;
      }
      scanMessage(object, actual, path, problems);
      return true;
    }
    scanMessage(object, type, path, problems);
    return true;
  }

  /** An http filter with is_optional: true whose typed_config type Keelson does not know: Envoy skips it, so does Keelson. */
  private static boolean isOptionalUnknownFilter(ObjectNode object, Descriptor type) {
    if (!type.getFullName().equals(io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter.getDescriptor().getFullName())) {
      return false;
    }
    JsonNode optional = object.has("is_optional") ? object.get("is_optional") : object.get("isOptional");
    if (optional == null || !optional.asBoolean(false)) {
      return false;
    }
    JsonNode typed = object.has("typed_config") ? object.get("typed_config") : object.get("typedConfig");
    if (typed == null || !typed.path("@type").isTextual()) {
      return false;
    }
    return SupportedTypes.REGISTRY.find(SupportedTypes.typeName(typed.path("@type").asText())) == null;
  }

  private static String unknownType(String name, String path) {
    if (path.contains("http_filters[")) {
      return "http filter type " + name + " is not supported; expected envoy.filters.http.router ("
          + SupportedTypes.ROUTER + ") or one of " + io.keelson.dataplane.filter.HttpFilterFactories.names()
          + ", or is_optional: true to skip it";
    }
    return "type " + name + " is not supported; expected one of " + SupportedTypes.NAMES;
  }

  private static FieldDescriptor field(Descriptor type, String key) {
    FieldDescriptor f = type.findFieldByName(key);
    if (f != null) {
      return f;
    }
    for (FieldDescriptor candidate : type.getFields()) {
      if (candidate.getJsonName().equals(key)) {
        return candidate;
      }
    }
    return null;
  }
}
