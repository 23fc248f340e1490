package io.keelson.control.policy;

import java.util.List;

/**
 * A registry Service's traffic distribution, read as istiod reads it ({@code model.GetTrafficDistribution}):
 * Kubernetes' {@code spec.trafficDistribution} ({@code PreferClose} or its newer name {@code PreferSameZone}, exact),
 * else Istio's annotation {@value #ANNOTATION} (the same values, any case). Both mean "prefer my zone, then my region".
 * {@code PreferSameNode} is refused (registry workloads carry no node), and so is any other value, where istiod would
 * ignore it: a typo must not silently spread a service's calls across zones. Stateless.
 */
final class TrafficDistribution {
  static final String ANNOTATION = "networking.istio.io/traffic-distribution";
  private static final String EXPECTED = "expected PreferClose or PreferSameZone (callers prefer endpoints of their"
      + " own zone, then region)";

  private TrafficDistribution() {}

  /** Whether the Service prefers close endpoints; a value not supported is reported at its field. */
  static boolean preferClose(Fields spec, Fields metadata) {
    String annotation = metadata.stringMap("annotations").get(ANNOTATION);
    boolean fromAnnotation = annotation != null
        && check(metadata, "annotations[\"" + ANNOTATION + "\"]", named(annotation), annotation);
    String written = spec.string("trafficDistribution", false);
    return written != null ? check(spec, "trafficDistribution", written, written) : fromAnnotation;
  }

  /** The annotation's value as Kubernetes names it (istiod compares it in any case). */
  private static String named(String value) {
    for (String name : List.of("PreferClose", "PreferSameZone", "PreferSameNode")) {
      if (name.equalsIgnoreCase(value)) {
        return name;
      }
    }
    return value;
  }

  private static boolean check(Fields at, String field, String value, String written) {
    switch (value) {
      case "PreferClose", "PreferSameZone" -> {
        return true;
      }
      case "PreferSameNode" ->
          at.error(field, "'" + written + "' is not supported (registry workloads carry no node); " + EXPECTED);
      default -> at.error(field, "'" + written + "' is not a traffic distribution; " + EXPECTED);
    }
    return false;
  }
}
