package io.keelson.control.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/**
 * A YAML mapping being validated: typed reads that report errors against the field path, and a
 * check that every field present is known (unsupported ones rejected by name). Not thread-safe.
 */
final class Fields {
  private final JsonNode node;
  final String path;
  private final Problems problems;

  Fields(JsonNode node, String path, Problems problems) {
    this.node = node;
    this.path = path;
    this.problems = problems;
  }

  /** The namespace of the document being validated ({@link ServiceNames#resolve} resolves its hosts there). */
  String namespace() {
    return problems.namespace();
  }

  String at(String field) {
    return path.isEmpty() ? field : path + "." + field;
  }

  boolean has(String field) {
    JsonNode v = node.get(field);
    return v != null && !v.isNull();
  }

  /**
   * Every field must be in {@code known}; fields in {@code unsupported} are rejected with their reason,
   * any other field as unknown.
   */
  void allow(Set<String> known, Map<String, String> unsupported) {
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String f = it.next();
      if (known.contains(f)) {
        continue;
      }
      String why = unsupported.get(f);
      if (why != null) {
        problems.error(at(f), why);
      } else {
        problems.error(at(f), "unknown field; expected one of " + String.join(", ", new TreeSet<>(known)));
      }
    }
  }

  void allow(String... known) {
    allow(Set.of(known), Map.of());
  }

  String string(String field, boolean required) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      if (required) {
        problems.error(at(field), "is required");
      }
      return null;
    }
    if (!v.isValueNode() || v.isBinary()) {
      problems.error(at(field), "expected a string, got " + kind(v));
      return null;
    }
    String s = v.asText();
    if (required && s.isEmpty()) {
      problems.error(at(field), "must not be empty");
      return null;
    }
    return s;
  }

  /**
   * A Service's name ({@link ServiceNames#serviceNameProblem}): a DNS label, so that a name never reads as another
   * namespace's key ({@code reviews.shop}); null after reporting one that is not.
   */
  String serviceName(String field, boolean required) {
    String s = string(field, required);
    String problem = s == null ? null : ServiceNames.serviceNameProblem(s);
    if (problem != null) {
      problems.error(at(field), problem);
      return null;
    }
    return s;
  }

  /** A boolean, false when absent; null after reporting a value that is not one. */
  Boolean bool(String field) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return Boolean.FALSE;
    }
    if (!v.isBoolean()) {
      problems.error(at(field), "expected true or false, got " + kind(v));
      return null;
    }
    return v.asBoolean();
  }

  /** An integer in [min, max], or {@code fallback} when absent. */
  Integer integer(String field, int min, int max, Integer fallback) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isIntegralNumber() || v.asLong() < min || v.asLong() > max) {
      problems.error(at(field), "expected a whole number from " + min + " to " + max + ", got " + v);
      return null;
    }
    return v.asInt();
  }

  /** A number (whole or not) from min to max, or fallback when absent; null (reported) when out of range. */
  Double number(String field, double min, double max, Double fallback) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return fallback;
    }
    if (!v.isNumber() || v.asDouble() < min || v.asDouble() > max) {
      problems.error(at(field), "expected a number from " + min + " to " + max + ", got " + v);
      return null;
    }
    return v.asDouble();
  }

  Fields object(String field, boolean required) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      if (required) {
        problems.error(at(field), "is required");
      }
      return null;
    }
    if (!v.isObject()) {
      problems.error(at(field), "expected a mapping, got " + kind(v));
      return null;
    }
    return new Fields(v, at(field), problems);
  }

  /**
   * The list at {@code field}, or null when it is absent (an error when {@code required}) or not a list (an error
   * saying it should be {@code expected}); a required empty list is an error but still returned.
   */
  private JsonNode list(String field, boolean required, String expected) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      if (required) {
        problems.error(at(field), "is required");
      }
      return null;
    }
    if (!v.isArray()) {
      problems.error(at(field), "expected " + expected + ", got " + kind(v));
      return null;
    }
    if (required && v.isEmpty()) {
      problems.error(at(field), "must not be empty");
    }
    return v;
  }

  /** The items of a list of mappings; an absent list is empty. */
  List<Fields> objects(String field, boolean required) {
    List<Fields> out = new ArrayList<>();
    JsonNode v = list(field, required, "a list");
    for (int i = 0; v != null && i < v.size(); i++) {
      JsonNode item = v.get(i);
      String p = at(field) + "[" + i + "]";
      if (!item.isObject()) {
        problems.error(p, "expected a mapping, got " + kind(item));
      } else {
        out.add(new Fields(item, p, problems));
      }
    }
    return out;
  }

  List<String> strings(String field, boolean required) {
    List<String> out = new ArrayList<>();
    JsonNode v = list(field, required, "a list of strings");
    for (int i = 0; v != null && i < v.size(); i++) {
      JsonNode item = v.get(i);
      if (!item.isTextual() || item.asText().isEmpty()) {
        problems.error(at(field) + "[" + i + "]", "expected a non-empty string, got " + kind(item));
      } else {
        out.add(item.asText());
      }
    }
    return out;
  }

  /** A list of whole numbers in [min, max]; each bad item is an error. */
  List<Integer> integers(String field, int min, int max) {
    List<Integer> out = new ArrayList<>();
    JsonNode v = list(field, false, "a list of whole numbers");
    for (int i = 0; v != null && i < v.size(); i++) {
      JsonNode item = v.get(i);
      if (!item.isIntegralNumber() || item.asLong() < min || item.asLong() > max) {
        problems.error(at(field) + "[" + i + "]", "expected a whole number from " + min + " to " + max + ", got " + item);
      } else {
        out.add(item.asInt());
      }
    }
    return out;
  }

  /** A mapping of string to string (labels, headers). */
  Map<String, String> stringMap(String field) {
    Map<String, String> out = new LinkedHashMap<>();
    eachEntry(field, (k, v) -> {
      if (!v.isValueNode() || v.isNull()) {
        problems.error(at(field) + "." + k, "expected a string, got " + kind(v));
      } else {
        out.put(k, v.asText());
      }
    });
    return out;
  }

  /** A mapping of string to whole numbers in [min, max] (weights); each bad value is an error and left out. */
  Map<String, Integer> integerMap(String field, int min, int max) {
    Map<String, Integer> out = new LinkedHashMap<>();
    eachEntry(field, (k, v) -> {
      if (!v.isIntegralNumber() || v.asLong() < min || v.asLong() > max) {
        problems.error(at(field) + "." + k, "expected a whole number from " + min + " to " + max + ", got " + v);
      } else {
        out.put(k, v.asInt());
      }
    });
    return out;
  }

  /** Each entry of a mapping field, as a key and a {@link Fields} (values that are not mappings are reported). */
  Map<String, Fields> objectMap(String field) {
    Map<String, Fields> out = new LinkedHashMap<>();
    eachEntry(field, (k, v) -> {
      if (!v.isObject()) {
        problems.error(at(field) + "." + k, "expected a mapping, got " + kind(v));
      } else {
        out.put(k, new Fields(v, at(field) + "." + k, problems));
      }
    });
    return out;
  }

  private void eachEntry(String field, BiConsumer<String, JsonNode> each) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      return;
    }
    if (!v.isObject()) {
      problems.error(at(field), "expected a mapping, got " + kind(v));
      return;
    }
    v.fields().forEachRemaining(e -> each.accept(e.getKey(), e.getValue()));
  }

  void error(String field, String reason) {
    problems.error(field == null ? path : at(field), reason);
  }

  void warn(String field, String reason) {
    problems.warn(field == null ? path : at(field), reason);
  }

  private static String kind(JsonNode v) {
    if (v.isObject()) {
      return "a mapping";
    }
    if (v.isArray()) {
      return "a list";
    }
    return "'" + v.asText() + "'";
  }

  /** The raw value of {@code field} (e.g. an embedded Envoy config, read by another parser), or null when absent. */
  JsonNode raw(String field) {
    JsonNode v = node.get(field);
    return v == null || v.isNull() ? null : v;
  }
}
