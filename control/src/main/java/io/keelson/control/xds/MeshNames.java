package io.keelson.control.xds;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The names of the mesh's services as an app sees them, and the name table sent to captured sidecars for their DNS
 * proxy (Istio's NDS). Keelson has one mesh namespace ({@value #NAMESPACE}: registry documents' namespaces are not
 * used, as {@code IstioParser} reads {@code NAME.NS.svc.cluster.local} as {@code NAME}) and the domain
 * {@value #DOMAIN}, so service {@code reviews} is {@code reviews}, {@code reviews.default}, {@code reviews.default.svc}
 * and {@code reviews.default.svc.cluster.local}, all at its VIP ({@link ServiceAddresses}).
 *
 * <p>The table travels in LDS, in {@code virtualOutbound}'s {@code metadata.filter_metadata["keelson.io/name_table"]}
 * (the data plane's {@code NameTableTranslator}): {@code table: {NAME: {ips: [VIP]}, ...}, zones: ["svc.cluster.local"]}.
 * Keelson's xDS server (java-control-plane's snapshot cache) carries Envoy's resource types only, and the listener is
 * already versioned, ACKed and NACKed per sidecar; the data plane's listener config does not include metadata, so a new
 * table never drains a listener. Stateless.
 */
public final class MeshNames {
  public static final String NAMESPACE = "default";
  public static final String DOMAIN = "cluster.local";
  public static final String METADATA_KEY = io.keelson.dataplane.dns.NameTable.METADATA_KEY; // where the proxy reads it

  private MeshNames() {}

  /** {@code service}'s names, shortest first. */
  public static List<String> names(String service) {
    return List.of(service, service + "." + NAMESPACE, service + "." + NAMESPACE + ".svc",
        service + "." + NAMESPACE + ".svc." + DOMAIN);
  }

  /** The zone the mesh answers for: a name under it that is no service's does not exist. */
  public static String zone() {
    return "svc." + DOMAIN;
  }

  /**
   * The name table of services with VIPs {@code vips} (by service name, each of its {@link #names}) and of ServiceEntry
   * hosts with {@code addresses} ({@code hosts}: by host, the name alone, as istiod's NDS).
   */
  public static Struct table(Map<String, String> vips, Map<String, List<String>> hosts) {
    Struct.Builder table = Struct.newBuilder();
    vips.forEach((service, vip) -> {
      Value entry = entry(List.of(vip));
      for (String name : names(service)) {
        table.putFields(name, entry);
      }
    });
    hosts.forEach((host, ips) -> table.putFields(host, entry(ips)));
    return Struct.newBuilder()
        .putFields("table", Value.newBuilder().setStructValue(table).build())
        .putFields("zones", Value.newBuilder().setListValue(ListValue.newBuilder()
            .addValues(Value.newBuilder().setStringValue(zone()))).build())
        .build();
  }

  private static Value entry(List<String> addresses) {
    ListValue.Builder ips = ListValue.newBuilder();
    addresses.forEach(a -> ips.addValues(Value.newBuilder().setStringValue(a)));
    return Value.newBuilder().setStructValue(Struct.newBuilder()
        .putFields("ips", Value.newBuilder().setListValue(ips).build())).build();
  }

  /** {@code virtualOutbound} carrying the name table of {@code vips} and of entry hosts {@code hosts}. */
  static Listener withTable(Listener virtualOutbound, Map<String, String> vips, Map<String, List<String>> hosts) {
    return virtualOutbound.toBuilder()
        .setMetadata(Metadata.newBuilder().putFilterMetadata(METADATA_KEY, table(vips, hosts)))
        .build();
  }

  /**
   * {@code vh} (service {@code service}'s virtual host on a captured sidecar's port listener) also matching the
   * service's longer names and its VIP, each alone and with {@code :port}: an app that resolved the name and sends
   * {@code Host: reviews.default.svc.cluster.local:9080}, or the bare address, still reaches the service.
   */
  static VirtualHost withAddressDomains(VirtualHost vh, String service, String vip, int port) {
    List<String> extra = new ArrayList<>();
    List<String> hosts = new ArrayList<>(names(service).subList(1, 4));
    if (vip != null) {
      hosts.add(ServiceEntryTranslator.authority(vip)); // an IPv6 VIP bracketed, as a Host header carries it
    }
    for (String h : hosts) {
      for (String d : List.of(h, h + ":" + port)) {
        if (!vh.getDomainsList().contains(d)) {
          extra.add(d);
        }
      }
    }
    return vh.toBuilder().addAllDomains(extra).build();
  }
}
