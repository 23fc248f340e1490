package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Istio's {@code Sidecar} ({@code networking.istio.io/v1}, {@code v1beta1}, {@code v1alpha3}): {@code workloadSelector},
 * {@code egress[].hosts} and {@code outboundTrafficPolicy.mode}, validated as istiod validates them: {@code egress}
 * required with at least one entry, each with hosts of the form {@code namespace/dnsName} (namespace {@code *},
 * {@code .}, {@code ~} or a name; dnsName {@code *}, {@code *.suffix} or an exact name). What Keelson does not do is
 * refused by field, never dropped: {@code ingress}, {@code bind}, {@code captureMode},
 * {@code outboundTrafficPolicy.egressProxy}, {@code inboundConnectionPool}. {@code egress[].port} admits the entry's
 * hosts on that port only ({@code protocol} checked, the service port's own protocol spoken). At most one selector-less Sidecar per
 * namespace is a cross-document rule ({@code store/References}). Stateless.
 */
final class SidecarParser {
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern DNS_NAME = Pattern.compile(
      "(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*");

  private static final List<String> ISTIO_PROTOCOLS = List.of("HTTP", "HTTPS", "HTTP2", "GRPC", "GRPC-WEB", "TCP",
      "TLS", "MONGO", "MYSQL", "REDIS");

  private SidecarParser() {}

  static Policy sidecar(Policy.Meta meta, String namespace, Fields spec) {
    spec.allow(Set.of("workloadSelector", "egress", "outboundTrafficPolicy"), Map.of(
        "ingress", "ingress listeners are not supported: a sidecar's inbound listener serves its registered app port"
            + " (captured: on the pod address, as Istio 1.10+). For an app listening only on 127.0.0.1 (Istio's"
            + " ingress[].defaultEndpoint 127.0.0.1:PORT) make it listen on 0.0.0.0 or the pod address, or run its"
            + " sidecar without --capture (the app is then reached on 127.0.0.1); remove ingress",
        "inboundConnectionPool", "inboundConnectionPool is not supported; remove it"));
    Map<String, String> selector = null;
    Fields sel = spec.object("workloadSelector", false);
    if (sel != null) {
      sel.allow("labels");
      selector = Map.copyOf(sel.stringMap("labels"));
      if (selector.isEmpty()) {
        sel.error("labels", "must name at least one label; remove workloadSelector to select the whole namespace");
      }
    }
    List<Policy.EgressHost> hosts = new ArrayList<>();
    List<Fields> egress = spec.objects("egress", true);
    if (egress.isEmpty() && spec.has("egress")) {
      spec.error("egress", "must have at least one entry (hosts the selected sidecars may reach)");
    }
    for (Fields e : egress) {
      e.allow(Set.of("hosts", "port"), Map.of(
          "bind", "bind is not supported: the outbound listener's address is the sidecar's (--outbound-port)",
          "captureMode", "captureMode is not supported: capture is the sidecar's (bin/keelson proxy --capture)"));
      Integer port = port(e);
      List<String> listed = e.strings("hosts", true);
      if (listed.isEmpty() && e.has("hosts")) {
        e.error("hosts", "must have at least one host, e.g. ./reviews or istio-system/*");
      }
      for (int i = 0; i < listed.size(); i++) {
        Policy.EgressHost h = host(e, "hosts[" + i + "]", listed.get(i), port);
        if (h != null) {
          hosts.add(h);
        }
      }
    }
    String mode = null;
    Fields otp = spec.object("outboundTrafficPolicy", false);
    if (otp != null) {
      otp.allow(Set.of("mode"), Map.of("egressProxy", "egressProxy is not supported; remove it"));
      mode = otp.string("mode", false);
      if (mode != null && !mode.equals("ALLOW_ANY") && !mode.equals("REGISTRY_ONLY")) {
        otp.error("mode", "'" + mode + "' is not an outbound traffic policy; expected ALLOW_ANY or REGISTRY_ONLY");
        mode = null;
      }
    }
    return new Policy.Sidecar(meta, namespace, selector, hosts, mode);
  }

  /**
   * {@code egress[].port.number}, or null when the entry has no port. Its {@code protocol} must be one of Istio's; the
   * admitted service's own port protocol is what its listener speaks.
   */
  private static Integer port(Fields e) {
    Fields p = e.object("port", false);
    if (p == null) {
      return null;
    }
    p.allow(Set.of("number", "protocol", "name"), Map.of(
        "targetPort", "targetPort is not supported in a Sidecar's egress port; remove it"));
    Integer number = p.integer("number", 1, 65535, null);
    if (number == null && !p.has("number")) {
      p.error("number", "is required: the port the entry's hosts are admitted on");
    }
    String protocol = p.string("protocol", false);
    if (protocol != null && !ISTIO_PROTOCOLS.contains(protocol.toUpperCase(java.util.Locale.ROOT))) {
      p.error("protocol", "'" + protocol + "' is not a protocol; expected one of " + String.join(", ", ISTIO_PROTOCOLS));
    }
    return number;
  }

  /** {@code namespace/dnsName}, or null (and an error at {@code field}). */
  private static Policy.EgressHost host(Fields e, String field, String text, Integer port) {
    int slash = text.indexOf('/');
    if (slash < 0 || slash != text.lastIndexOf('/')) {
      e.error(field, "'" + text + "' is not namespace/dnsName; expected e.g. ./reviews.default.svc.cluster.local, "
          + "istio-system/*, */*.example.com or ~/*");
      return null;
    }
    String ns = text.substring(0, slash);
    String name = text.substring(slash + 1).toLowerCase(java.util.Locale.ROOT);
    if (!ns.equals("*") && !ns.equals(".") && !ns.equals("~") && !NAMESPACE.matcher(ns).matches()) {
      e.error(field, "'" + ns + "' in '" + text + "' is not a namespace; expected *, . (this Sidecar's), ~ (none) "
          + "or a namespace name");
      return null;
    }
    boolean wildcard = name.equals("*") || (name.startsWith("*.") && DNS_NAME.matcher(name.substring(2)).matches());
    if (!wildcard && !DNS_NAME.matcher(name).matches()) {
      e.error(field, "'" + name + "' in '" + text + "' is not a host; expected *, *.suffix or a DNS name");
      return null;
    }
    return new Policy.EgressHost(ns, name, port);
  }
}
