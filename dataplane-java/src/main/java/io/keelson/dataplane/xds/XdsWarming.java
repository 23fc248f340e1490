package io.keelson.dataplane.xds;

import com.google.protobuf.Message;
import io.keelson.dataplane.config.envoy.XdsSnapshotTranslator;
import java.util.List;

/**
 * The accepted clusters and listeners not in service as accepted yet, waiting for their SDS secrets (Envoy's cluster
 * and listener warming), for the admin {@code /config_dump} and {@code /clusters}. Immutable.
 *
 * @param clusters  warming clusters, in the order they were accepted
 * @param listeners warming listeners, in the order they were accepted
 */
public record XdsWarming(List<Resource> clusters, List<Resource> listeners) {
  public static final XdsWarming NONE = new XdsWarming(List.of(), List.of());

  public XdsWarming {
    clusters = List.copyOf(clusters);
    listeners = List.copyOf(listeners);
  }

  /** One warming resource: its name, the version it was accepted at and the accepted message. */
  public record Resource(String name, String version, Message resource) {}

  public boolean isEmpty() {
    return clusters.isEmpty() && listeners.isEmpty();
  }

  /**
   * {@code /config_dump}'s warming sections, each entry in the shape of Envoy's admin protos:
   * {@code "dynamic_warming_clusters":[{"version_info","cluster"}]} (ClustersConfigDump.DynamicCluster) and
   * {@code "dynamic_warming_listeners":[{"name","warming_state":{"version_info","listener"}}]}
   * (ListenersConfigDump.DynamicListener), each starting with a comma to follow the dump's other fields.
   */
  public String configDumpFields() {
    StringBuilder json = new StringBuilder(",\"dynamic_warming_clusters\":[");
    for (int i = 0; i < clusters.size(); i++) {
      Resource r = clusters.get(i);
      json.append(i == 0 ? "" : ",").append("{\"version_info\":").append(quoted(r.version()))
          .append(",\"cluster\":").append(XdsSnapshotTranslator.dumpJson(r.resource())).append('}');
    }
    json.append("],\"dynamic_warming_listeners\":[");
    for (int i = 0; i < listeners.size(); i++) {
      Resource r = listeners.get(i);
      json.append(i == 0 ? "" : ",").append("{\"name\":").append(quoted(r.name()))
          .append(",\"warming_state\":{\"version_info\":").append(quoted(r.version()))
          .append(",\"listener\":").append(XdsSnapshotTranslator.dumpJson(r.resource())).append("}}");
    }
    return json.append(']').toString();
  }

  private static String quoted(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }
}
