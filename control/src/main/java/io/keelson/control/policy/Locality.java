package io.keelson.control.policy;

import java.util.HashMap;
import java.util.Map;

/**
 * Where a workload or proxy runs: Istio's {@code region/zone/subzone} (Envoy's {@code Locality}: region, zone,
 * sub_zone). A workload carries it in Kubernetes' topology labels, as istiod reads them ({@value #REGION},
 * {@value #ZONE}, {@value #SUBZONE}); {@link #NONE} is a workload without one. Immutable.
 */
public record Locality(String region, String zone, String subzone) {
  public static final String REGION = "topology.kubernetes.io/region";
  public static final String ZONE = "topology.kubernetes.io/zone";
  public static final String SUBZONE = "topology.istio.io/subzone";
  /**
   * Kubernetes' node label: a workload's node, and a proxy's (its metadata {@code NODE_NAME}), as istiod adds it to
   * both ({@code AugmentLabels}); {@code trafficDistribution: PreferSameNode} fails over by it last.
   */
  public static final String HOSTNAME = "kubernetes.io/hostname";
  /**
   * Istio's network label: a workload's network, and a proxy's (its metadata {@code NETWORK}), as istiod adds it to
   * both ({@code AugmentLabels}); {@code trafficDistribution} fails over by it first.
   */
  public static final String NETWORK = "topology.istio.io/network";
  public static final Locality NONE = new Locality("", "", "");

  public Locality {
    region = region == null ? "" : region;
    zone = zone == null ? "" : zone;
    subzone = subzone == null ? "" : subzone;
  }

  /**
   * Parses {@code region[/zone[/subzone]]} (no wildcard).
   *
   * @throws IllegalArgumentException saying what is wrong with {@code text}
   */
  public static Locality parse(String text) {
    String[] parts = text.split("/", -1);
    if (text.isEmpty() || parts.length > 3) {
      throw new IllegalArgumentException("'" + text + "' is not a locality; expected region/zone/subzone (zone and"
          + " subzone optional), e.g. us-east1/us-east1-b");
    }
    for (String p : parts) {
      if (p.isEmpty() || p.contains("*") || !p.matches("[A-Za-z0-9][-A-Za-z0-9_.]*")) {
        throw new IllegalArgumentException("'" + text + "' is not a locality: '" + p + "' is not a region, zone or"
            + " subzone name (letters, digits, '-', '_', '.'; no empty part, no '*')");
      }
    }
    return new Locality(parts[0], parts.length > 1 ? parts[1] : "", parts.length > 2 ? parts[2] : "");
  }

  /** The locality the topology labels in {@code labels} say, or {@link #NONE}. */
  public static Locality fromLabels(Map<String, String> labels) {
    return new Locality(labels.get(REGION), labels.get(ZONE), labels.get(SUBZONE));
  }

  /** {@code labels} with this locality's topology labels added (the empty parts are left out). */
  public Map<String, String> addTo(Map<String, String> labels) {
    Map<String, String> out = new HashMap<>(labels);
    if (!region.isEmpty()) {
      out.put(REGION, region);
    }
    if (!zone.isEmpty()) {
      out.put(ZONE, zone);
    }
    if (!subzone.isEmpty()) {
      out.put(SUBZONE, subzone);
    }
    return Map.copyOf(out);
  }

  /**
   * The locality Envoy's {@code Locality} message says (a node's or an endpoint group's); equal to {@link #NONE} for an
   * unset one (the default instance).
   */
  public static Locality of(io.envoyproxy.envoy.config.core.v3.Locality proto) {
    return new Locality(proto.getRegion(), proto.getZone(), proto.getSubZone());
  }

  /** This locality as Envoy's {@code Locality} message (region, zone, sub_zone). */
  public io.envoyproxy.envoy.config.core.v3.Locality toProto() {
    return io.envoyproxy.envoy.config.core.v3.Locality.newBuilder().setRegion(region).setZone(zone)
        .setSubZone(subzone).build();
  }

  public boolean isEmpty() {
    return region.isEmpty() && zone.isEmpty() && subzone.isEmpty();
  }

  /**
   * True when this locality matches a rule's {@code region[/zone[/subzone]]}, where a part may be {@code *} and a
   * missing part matches anything (Istio's {@code util.LocalityMatch}).
   */
  public boolean matches(String rule) {
    String[] p = rule.split("/", -1);
    boolean regionMatch = p[0].equals("*") || p[0].equals(region);
    boolean zoneMatch = p.length < 2 || p[1].equals("*") || p[1].isEmpty() || p[1].equals(zone);
    boolean subzoneMatch = p.length < 3 || p[2].equals("*") || p[2].isEmpty() || p[2].equals(subzone);
    return regionMatch && zoneMatch && subzoneMatch;
  }

  /**
   * Istio's failover priority of an endpoint in {@code endpoint} for a proxy in this locality: 0 the same region,
   * zone and subzone; 1 the same region and zone; 2 the same region; 3 any other.
   */
  public int priorityOf(Locality endpoint) {
    if (!region.equals(endpoint.region)) {
      return 3;
    }
    if (!zone.equals(endpoint.zone)) {
      return 2;
    }
    return subzone.equals(endpoint.subzone) ? 0 : 1;
  }

  @Override
  public String toString() {
    return subzone.isEmpty() ? (zone.isEmpty() ? region : region + "/" + zone) : region + "/" + zone + "/" + subzone;
  }
}
