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
 * refused by field, never dropped: {@code ingress}, {@code egress[].port}, {@code bind}, {@code captureMode},
 * {@code outboundTrafficPolicy.egressProxy}, {@code inboundConnectionPool}. At most one selector-less Sidecar per
 * namespace is a cross-document rule ({@code store/References}). Stateless.
 */
final class SidecarParser {
  private static final Pattern NAMESPACE = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");
  private static final Pattern DNS_NAME = Pattern.compile(
      "(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*");

  private SidecarParser() {}

  static Policy sidecar(Policy.Meta meta, String namespace, Fields spec) {
    spec.allow(Set.of("workloadSelector", "egress", "outboundTrafficPolicy"), Map.of(
        "ingress", "ingress listeners are not supported: a sidecar's inbound listener serves its registered app port; "
            + "remove ingress",
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
      e.allow(Set.of("hosts"), Map.of(
          "port", "egress listeners on a port are not supported: list hosts only; every admitted service keeps its ports",
          "bind", "bind is not supported: the outbound listener's address is the sidecar's (--outbound-port)",
          "captureMode", "captureMode is not supported: capture is the sidecar's (bin/keelson proxy --capture)"));
      List<String> listed = e.strings("hosts", true);
      if (listed.isEmpty() && e.has("hosts")) {
        e.error("hosts", "must have at least one host, e.g. ./reviews or istio-system/*");
      }
      for (int i = 0; i < listed.size(); i++) {
        Policy.EgressHost h = host(e, "hosts[" + i + "]", listed.get(i));
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

  /** {@code namespace/dnsName}, or null (and an error at {@code field}). */
  private static Policy.EgressHost host(Fields e, String field, String text) {
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
    return new Policy.EgressHost(ns, name);
  }
}
