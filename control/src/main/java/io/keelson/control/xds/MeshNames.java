package io.keelson.control.xds;

import com.google.protobuf.ListValue;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.envoyproxy.envoy.config.core.v3.Metadata;
import io.envoyproxy.envoy.config.listener.v3.Listener;
import io.envoyproxy.envoy.config.route.v3.VirtualHost;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.ServiceNames;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The names of the mesh's services as an app sees them, and the name table sent to captured sidecars for their DNS
 * proxy (Istio's NDS). The domain is {@value #DOMAIN}; service {@code reviews} of namespace {@value #NAMESPACE} is
 * {@code reviews}, {@code reviews.default}, {@code reviews.default.svc} and {@code reviews.default.svc.cluster.local},
 * service {@code reviews} of namespace {@code shop} (key {@code reviews.shop}, {@code policy/ServiceNames}) is
 * {@code reviews.shop}, {@code reviews.shop.svc} and {@code reviews.shop.svc.cluster.local}, all at its VIP
 * ({@link ServiceAddresses}). The short name of a service of another namespace than default is added per client
 * namespace ({@link ClientNamespaceNames}), as Kubernetes' DNS search path resolves it only there.
 *
 * <p>The table travels in LDS, in {@code virtualOutbound}'s {@code metadata.filter_metadata["keelson.io/name_table"]}
 * (the data plane's {@code NameTableTranslator}): {@code table: {NAME: {ips: [VIP]}, ...}, zones: ["svc.cluster.local"]}.
 * Keelson's xDS server (java-control-plane's snapshot cache) carries Envoy's resource types only, and the listener is
 * already versioned, ACKed and NACKed per sidecar; the data plane's listener config does not include metadata, so a new
 * table never drains a listener. Stateless.
 */
public final class MeshNames {
  public static final String NAMESPACE = ServiceNames.DEFAULT_NAMESPACE;
  public static final String DOMAIN = "cluster.local";
  public static final String METADATA_KEY = io.keelson.dataplane.dns.NameTable.METADATA_KEY; // where the proxy reads it

  private MeshNames() {}

  /** Service {@code service}'s names (a service of namespace default), shortest first. */
  public static List<String> names(String service) {
    return names(service, NAMESPACE);
  }

  /** {@code service}'s names, its key ({@link Policy.Service#name()}) first. */
  public static List<String> names(Policy.Service service) {
    return names(service.meta().name(), service.serviceNamespace());
  }

  /**
   * The names a Sidecar's {@code egress[].hosts} dnsName may give {@code service} with its namespace before the
   * {@code /}: its {@link #names} and its name as written ({@code shop/reviews}, as Istio's short hosts).
   */
  static List<String> admissionNames(Policy.Service service) {
    List<String> names = new ArrayList<>(names(service));
    if (!names.contains(service.meta().name())) {
      names.add(service.meta().name());
    }
    return names;
  }

  /** The names of service {@code name} of {@code namespace}, its key first. */
  static List<String> names(String name, String namespace) {
    String qualified = name + "." + namespace;
    List<String> longer = List.of(qualified, qualified + ".svc", qualified + ".svc." + DOMAIN);
    if (!namespace.equals(NAMESPACE)) {
      return longer;
    }
    List<String> all = new ArrayList<>(longer.size() + 1);
    all.add(name);
    all.addAll(longer);
    return List.copyOf(all);
  }

  /** The zone the mesh answers for: a name under it that is no service's does not exist. */
  public static String zone() {
    return "svc." + DOMAIN;
  }

  /**
   * The name table of {@code services} with VIPs {@code vips} (by key, each of its {@link #names}) and of ServiceEntry
   * hosts with {@code addresses} ({@code hosts}: by host, the name alone, as istiod's NDS).
   */
  public static Struct table(List<Policy.Service> services, Map<String, String> vips, Map<String, List<String>> hosts) {
    Struct.Builder table = Struct.newBuilder();
    for (Policy.Service service : services) {
      Value entry = entry(List.of(vips.get(service.name())));
      for (String name : names(service)) {
        table.putFields(name, entry);
      }
    }
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
  static Listener withTable(Listener virtualOutbound, List<Policy.Service> services, Map<String, String> vips,
      Map<String, List<String>> hosts) {
    return virtualOutbound.toBuilder()
        .setMetadata(Metadata.newBuilder().putFilterMetadata(METADATA_KEY, table(services, vips, hosts)))
        .build();
  }

  /**
   * {@code vh} (service {@code service}'s virtual host on a captured sidecar's port listener) also matching the
   * service's longer names and its VIP, each alone and with {@code :port}: an app that resolved the name and sends
   * {@code Host: reviews.default.svc.cluster.local:9080}, or the bare address, still reaches the service.
   */
  static VirtualHost withAddressDomains(VirtualHost vh, Policy.Service service, String vip, int port) {
    List<String> extra = new ArrayList<>();
    List<String> hosts = new ArrayList<>(names(service).subList(1, names(service).size()));
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
