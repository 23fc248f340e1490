package io.keelson.control.policy;

import io.keelson.control.policy.Policy.TrafficDistribution;
import java.util.List;

/**
 * A traffic distribution read as istiod reads it ({@code model.GetTrafficDistribution}): a registry Service's
 * Kubernetes {@code spec.trafficDistribution} ({@code PreferClose} or its newer name {@code PreferSameZone}, or
 * {@code PreferSameNode}; exact), else Istio's annotation {@value #ANNOTATION} (the same values, any case), which is
 * all a ServiceEntry has. Any other value is refused at its field, where istiod would ignore it (with a warning for the
 * annotation): a typo must not silently spread a service's calls across zones. Stateless.
 */
final class TrafficDistributionField {
  static final String ANNOTATION = "networking.istio.io/traffic-distribution";
  private static final String EXPECTED = "expected PreferClose or PreferSameZone (callers prefer endpoints of their"
      + " own zone, then region) or PreferSameNode (of their own node first)";
  private static final List<String> NAMES = List.of("PreferClose", "PreferSameZone", "PreferSameNode");

  private TrafficDistributionField() {}

  /** A registry Service's: its spec's, else its annotation's; a value not supported is reported at its field. */
  static TrafficDistribution of(Fields spec, Fields metadata) {
    TrafficDistribution annotated = annotated(metadata);
    String written = spec.string("trafficDistribution", false);
    return written != null ? check(spec, "trafficDistribution", written, written) : annotated;
  }

  /** A ServiceEntry's, by its annotation (istiod reads no spec field for entries). */
  static TrafficDistribution annotated(Fields metadata) {
    String annotation = metadata.stringMap("annotations").get(ANNOTATION);
    return annotation == null ? TrafficDistribution.ANY
        : check(metadata, "annotations[\"" + ANNOTATION + "\"]", named(annotation), annotation);
  }

  /** The annotation's value as Kubernetes names it (istiod compares it in any case). */
  private static String named(String value) {
    for (String name : NAMES) {
      if (name.equalsIgnoreCase(value)) {
        return name;
      }
    }
    return value;
  }

  private static TrafficDistribution check(Fields at, String field, String value, String written) {
    switch (value) {
      case "PreferClose", "PreferSameZone" -> {
        return TrafficDistribution.PREFER_SAME_ZONE;
      }
      case "PreferSameNode" -> {
        return TrafficDistribution.PREFER_SAME_NODE;
      }
      default -> at.error(field, "'" + written + "' is not a traffic distribution; " + EXPECTED);
    }
    return TrafficDistribution.ANY;
  }
}
