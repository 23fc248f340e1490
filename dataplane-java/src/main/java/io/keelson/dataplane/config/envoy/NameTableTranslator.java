package io.keelson.dataplane.config.envoy;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.keelson.dataplane.dns.NameTable;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the name table the control plane sends for the sidecar's DNS proxy, in the shape of Istio's NDS
 * {@code NameTable} carried in a listener's {@code metadata.filter_metadata["keelson.io/name_table"]} (LDS already
 * versions, ACKs and NACKs it, and no second resource type is needed):
 *
 * <pre>
 * table:  { "reviews": { ips: ["240.240.3.7"] }, "reviews.default.svc.cluster.local": { ips: [...] }, ... }
 * zones:  [ "svc.cluster.local" ]      names under a zone that are not in the table are NXDOMAIN
 * </pre>
 *
 * A bad entry (not a DNS name, an address that is not an IP literal) is an error naming its path: the update is
 * NACKed and the last good table stays. At most one listener may carry a table. Stateless.
 */
final class NameTableTranslator {
  private NameTableTranslator() {}

  static NameTable fromListeners(List<Listener> listeners, List<String> paths, Problems problems) {
    NameTable found = NameTable.EMPTY;
    String foundAt = null;
    for (int i = 0; i < listeners.size(); i++) {
      Struct s = listeners.get(i).getMetadata().getFilterMetadataMap().get(NameTable.METADATA_KEY);
      if (s == null) {
        continue;
      }
      String path = paths.get(i) + ".metadata.filter_metadata['" + NameTable.METADATA_KEY + "']";
      if (foundAt != null) {
        problems.error(path, "a name table is already carried by " + foundAt + "; expected one listener with it");
        continue;
      }
      foundAt = paths.get(i);
      found = parse(s, path, problems);
    }
    return found;
  }

  static NameTable parse(Struct s, String path, Problems problems) {
    Map<String, List<InetAddress>> names = new LinkedHashMap<>();
    List<String> zones = new ArrayList<>();
    for (Map.Entry<String, Value> f : s.getFieldsMap().entrySet()) {
      switch (f.getKey()) {
        case "table" -> {
          if (!f.getValue().hasStructValue()) {
            problems.error(path + ".table", "expected a map of name to {ips: [...]}");
            continue;
          }
          for (Map.Entry<String, Value> e : f.getValue().getStructValue().getFieldsMap().entrySet()) {
            String at = path + ".table['" + e.getKey() + "']";
            String name;
            try {
              name = NameTable.normalize(e.getKey());
            } catch (IllegalArgumentException ex) {
              problems.error(at, ex.getMessage());
              continue;
            }
            Value ips = e.getValue().hasStructValue() ? e.getValue().getStructValue().getFieldsMap().get("ips") : null;
            if (ips == null || !ips.hasListValue()) {
              problems.error(at + ".ips", "expected a list of IP addresses");
              continue;
            }
            List<InetAddress> addresses = new ArrayList<>();
            for (int j = 0; j < ips.getListValue().getValuesCount(); j++) {
              Value ip = ips.getListValue().getValues(j);
              String text = ip.hasStringValue() ? ip.getStringValue() : "";
              InetAddress a = ipLiteral(text);
              if (a == null) {
                problems.error(at + ".ips[" + j + "]", "'" + text + "' is not an IPv4 or IPv6 address");
              } else {
                addresses.add(a);
              }
            }
            names.put(name, addresses);
          }
        }
        case "zones" -> {
          if (!f.getValue().hasListValue()) {
            problems.error(path + ".zones", "expected a list of domain names");
            continue;
          }
          for (int j = 0; j < f.getValue().getListValue().getValuesCount(); j++) {
            try {
              zones.add(NameTable.normalize(f.getValue().getListValue().getValues(j).getStringValue()));
            } catch (IllegalArgumentException ex) {
              problems.error(path + ".zones[" + j + "]", ex.getMessage());
            }
          }
        }
        default -> problems.error(path + "." + f.getKey(), "unknown field; expected table and zones");
      }
    }
    return NameTable.of(names, zones);
  }

  /** {@code text} as an address when it is an IPv4 or IPv6 literal (never a host name: nothing is looked up). */
  private static InetAddress ipLiteral(String text) {
    if (!text.matches("\\d{1,3}(\\.\\d{1,3}){3}") && !(text.contains(":") && text.matches("[0-9a-fA-F:.]+"))) {
      return null;
    }
    try {
      return InetAddress.getByName(text);
    } catch (java.net.UnknownHostException e) {
      return null;
    }
  }
}
