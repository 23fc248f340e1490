package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A Kubernetes {@code LabelSelector} (metav1): {@code matchLabels} and {@code matchExpressions} (operators {@code In},
 * {@code NotIn}, {@code Exists}, {@code DoesNotExist}), all ANDed, as Kubernetes evaluates it: {@code NotIn} and
 * {@code DoesNotExist} match objects without the key. Immutable.
 */
public record LabelSelector(Map<String, String> matchLabels, List<Requirement> matchExpressions) {
  public LabelSelector {
    matchLabels = Map.copyOf(matchLabels);
    matchExpressions = List.copyOf(matchExpressions);
  }

  /** {@code matchLabels} only. */
  public static LabelSelector of(Map<String, String> matchLabels) {
    return new LabelSelector(matchLabels, List.of());
  }

  /** One {@code matchExpressions} entry: {@code key}, {@code operator}, {@code values} (empty for Exists/DoesNotExist). */
  public record Requirement(String key, String operator, List<String> values) {
    private static final Set<String> OPERATORS = Set.of("In", "NotIn", "Exists", "DoesNotExist");

    public Requirement {
      values = List.copyOf(values);
    }

    boolean matches(Map<String, String> labels) {
      String have = labels.get(key);
      return switch (operator) {
        case "In" -> have != null && values.contains(have);
        case "NotIn" -> have == null || !values.contains(have);
        case "Exists" -> have != null;
        default -> have == null; // DoesNotExist
      };
    }

    @Override
    public String toString() {
      return key + " " + operator + (values.isEmpty() ? "" : " " + values);
    }
  }

  /** True when {@code labels} (null: an object without labels) satisfy every label and expression. */
  public boolean matches(Map<String, String> labels) {
    Map<String, String> have = labels == null ? Map.of() : labels;
    if (!includes(matchLabels, have)) {
      return false;
    }
    for (Requirement r : matchExpressions) {
      if (!r.matches(have)) {
        return false;
      }
    }
    return true;
  }

  /** True when {@code labels} carry every entry of {@code matchLabels} (a {@code matchLabels} selector's test). */
  public static boolean includes(Map<String, String> matchLabels, Map<String, String> labels) {
    for (var e : matchLabels.entrySet()) {
      if (!e.getValue().equals(labels.get(e.getKey()))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String toString() {
    List<String> parts = new ArrayList<>();
    if (!matchLabels.isEmpty()) {
      parts.add(new TreeMap<>(matchLabels).toString());
    }
    matchExpressions.forEach(r -> parts.add(r.toString()));
    return String.join(" and ", parts);
  }

  /**
   * Reads {@code sel} ({@code matchLabels}, {@code matchExpressions}); operators and their values are checked by field
   * path as the API server does ({@code In}/{@code NotIn} need values, {@code Exists}/{@code DoesNotExist} take none).
   */
  static LabelSelector parse(Fields sel) {
    sel.allow("matchLabels", "matchExpressions");
    Map<String, String> labels = sel.stringMap("matchLabels");
    List<Requirement> expressions = new ArrayList<>();
    for (Fields e : sel.objects("matchExpressions", false)) {
      e.allow("key", "operator", "values");
      String key = e.string("key", true);
      String op = e.string("operator", true);
      List<String> values = e.strings("values", false);
      if (op != null && !Requirement.OPERATORS.contains(op)) {
        e.error("operator", "'" + op + "' is not a label selector operator; expected In, NotIn, Exists or DoesNotExist");
        continue;
      }
      if (op != null && (op.equals("In") || op.equals("NotIn")) && values.isEmpty()) {
        e.error("values", "is required (non-empty) with operator " + op);
      } else if (op != null && !values.isEmpty() && (op.equals("Exists") || op.equals("DoesNotExist"))) {
        e.error("values", "must be empty with operator " + op);
      }
      if (key != null && op != null) {
        expressions.add(new Requirement(key, op, values));
      }
    }
    return new LabelSelector(labels, expressions);
  }
}
