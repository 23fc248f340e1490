package io.keelson.dataplane.stats;

import java.util.Map;

/**
 * Who this proxy is, for Istio's {@code source_*} / {@code destination_*} labels: taken from the
 * bootstrap {@code node} as Istio fills it (metadata {@code WORKLOAD_NAME}, {@code NAMESPACE},
 * {@code LABELS.app}, {@code LABELS.version}, {@code CLUSTER_ID} for Istio's {@code source_cluster} /
 * {@code destination_cluster}). "unknown" where not known, as Istio does. Immutable.
 */
public record MeshIdentity(String workload, String namespace, String app, String version, String principal,
    String cluster) {
  public static final String UNKNOWN = "unknown";
  public static final MeshIdentity UNKNOWN_IDENTITY = new MeshIdentity(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN);
  /** A Keelson sidecar's node metadata key for its workload labels (Istio's is {@code LABELS}). */
  static final String KEELSON_LABELS = "keelson.io/labels";

  public MeshIdentity {
    workload = orUnknown(workload);
    namespace = orUnknown(namespace);
    app = orUnknown(app);
    version = orUnknown(version);
    principal = orUnknown(principal);
    cluster = orUnknown(cluster);
  }

  /** In no known cluster ({@code CLUSTER_ID} not sent). */
  public MeshIdentity(String workload, String namespace, String app, String version, String principal) {
    this(workload, namespace, app, version, principal, null);
  }

  /**
   * From a node's id, cluster and metadata (string values; {@code LABELS} a map). The workload falls back
   * to the node cluster (Envoy's service cluster), then the id's host part (Istio ids are
   * {@code sidecar~ip~pod.ns~ns.svc.cluster.local}).
   */
  public static MeshIdentity fromNode(String id, String cluster, Map<String, Object> metadata) {
    String workload = str(metadata.get("WORKLOAD_NAME"));
    String namespace = str(metadata.get("NAMESPACE"));
    if (workload == null && cluster != null && !cluster.isEmpty()) {
      workload = cluster;
    }
    if (id != null && id.contains("~")) {
      String[] parts = id.split("~");
      if (parts.length >= 3) {
        String podNs = parts[2];
        int dot = podNs.indexOf('.');
        if (workload == null) {
          workload = dot > 0 ? podNs.substring(0, dot) : podNs;
        }
        if (namespace == null && dot > 0) {
          namespace = podNs.substring(dot + 1);
        }
      }
    }
    String app = null;
    String version = null;
    Object labelMap = metadata.get("LABELS") instanceof Map<?, ?> m ? m : metadata.get(KEELSON_LABELS);
    if (labelMap instanceof Map<?, ?> labels) {
      app = str(labels.get("app"));
      if (app == null) {
        app = str(labels.get("app.kubernetes.io/name"));
      }
      version = str(labels.get("version"));
      if (version == null) {
        version = str(labels.get("app.kubernetes.io/version"));
      }
    }
    String principal = null;
    String sa = str(metadata.get("SERVICE_ACCOUNT"));
    String td = str(metadata.get("TRUST_DOMAIN"));
    if (sa != null && namespace != null) {
      principal = "spiffe://" + (td == null ? "cluster.local" : td) + "/ns/" + namespace + "/sa/" + sa;
    }
    return new MeshIdentity(workload, namespace, app, version, principal, str(metadata.get("CLUSTER_ID")));
  }

  /**
   * This identity as the holder of the workload certificate {@code spiffeUri} ({@code spiffe://td/ns/NS/sa/SA}): the
   * principal is the URI, the namespace the URI's when not known otherwise. Unchanged when {@code spiffeUri} is null.
   */
  public MeshIdentity withPrincipal(String spiffeUri) {
    if (spiffeUri == null || spiffeUri.isEmpty()) {
      return this;
    }
    String ns = namespace.equals(UNKNOWN) ? spiffeNamespace(spiffeUri) : namespace;
    return new MeshIdentity(workload, ns, app, version, spiffeUri, cluster);
  }

  /** The namespace of a SPIFFE ID of Istio's form ({@code .../ns/NS/sa/SA}), or "unknown". Allocates the result. */
  public static String spiffeNamespace(String spiffeUri) {
    int ns = spiffeUri.indexOf("/ns/");
    if (ns < 0) {
      return UNKNOWN;
    }
    int end = spiffeUri.indexOf('/', ns + 4);
    return orUnknown(spiffeUri.substring(ns + 4, end < 0 ? spiffeUri.length() : end));
  }

  /** The service account of a SPIFFE ID of Istio's form, or null. */
  static String spiffeServiceAccount(String spiffeUri) {
    int sa = spiffeUri.indexOf("/sa/");
    return sa < 0 || sa + 4 >= spiffeUri.length() ? null : spiffeUri.substring(sa + 4);
  }

  private static String str(Object o) {
    return o instanceof String s && !s.isEmpty() ? s : null;
  }

  private static String orUnknown(String s) {
    return s == null || s.isEmpty() ? UNKNOWN : s;
  }
}
