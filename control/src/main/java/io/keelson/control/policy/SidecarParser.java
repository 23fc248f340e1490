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
 * refused by field, never dropped: {@code bind}, {@code captureMode},
 * {@code outboundTrafficPolicy.egressProxy}, {@code inboundConnectionPool}. {@code egress[].port} admits the entry's
 * hosts on that port only ({@code protocol} checked, the service port's own protocol spoken). {@code ingress[]}:
 * {@code port} and {@code defaultEndpoint} ({@code 127.0.0.1:PORT} or {@code 0.0.0.0:PORT}), for captured sidecars. At most one selector-less Sidecar per
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
    spec.allow(Set.of("workloadSelector", "egress", "outboundTrafficPolicy", "ingress"), Map.of(
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
    return new Policy.Sidecar(meta, namespace, selector, hosts, mode, ingress(spec));
  }

  /**
   * {@code ingress[]}: {@code port} (number required, protocol one of Istio's) and {@code defaultEndpoint}, required:
   * {@code 127.0.0.1:PORT} or {@code 0.0.0.0:PORT} (the pod address). A captured sidecar serves one app port, so only
   * the entry for its app port applies (see docs/control-plane.md, "Sidecar").
   */
  private static List<Policy.SidecarIngress> ingress(Fields spec) {
    List<Policy.SidecarIngress> out = new ArrayList<>();
    java.util.Set<Integer> seen = new java.util.HashSet<>();
    for (Fields i : spec.objects("ingress", false)) {
      i.allow(Set.of("port", "defaultEndpoint"), Map.of(
          "bind", "bind is not supported: the inbound listener's address is the sidecar's (--inbound-port)",
          "captureMode", "captureMode is not supported: capture is the sidecar's (bin/keelson proxy --capture)",
          "tls", "tls is not supported: inbound TLS is the mesh's mTLS (PeerAuthentication)",
          "connectionPool", "connectionPool is not supported; remove it"));
      Integer port = port(i, "the port the app's traffic arrives on (its --app-port)");
      if (!i.has("port")) {
        i.error("port", "is required, e.g. { number: 9080, protocol: HTTP, name: http }: the app's port");
      }
      String endpoint = i.string("defaultEndpoint", false);
      Policy.SidecarIngress entry = endpoint == null ? null : defaultEndpoint(i, endpoint);
      if (endpoint == null) {
        i.error("defaultEndpoint", "is required, e.g. 127.0.0.1:8080 (an app listening on loopback) or 0.0.0.0:8080 "
            + "(the pod address, the default without ingress)");
      } else if (port != null && entry != null && !seen.add(port)) {
        i.error("port.number", port + " is already another ingress entry's");
      } else if (port != null && entry != null) {
        out.add(new Policy.SidecarIngress(port, entry.endpointHost(), entry.endpointPort()));
      }
    }
    return out;
  }

  /** {@code 127.0.0.1:PORT} or {@code 0.0.0.0:PORT} (port unset), or null and an error at {@code defaultEndpoint}. */
  private static Policy.SidecarIngress defaultEndpoint(Fields i, String text) {
    int colon = text.lastIndexOf(':');
    String host = colon < 0 ? text : text.substring(0, colon);
    int port = -1;
    try {
      port = colon < 0 ? -1 : Integer.parseInt(text.substring(colon + 1));
    } catch (NumberFormatException e) {
      // reported below
    }
    if (text.startsWith("unix://")) {
      i.error("defaultEndpoint", "'" + text + "': unix domain sockets are not supported; expected 127.0.0.1:PORT or "
          + "0.0.0.0:PORT");
    } else if (!(host.equals("127.0.0.1") || host.equals("0.0.0.0")) || port < 1 || port > 65535) {
      i.error("defaultEndpoint", "'" + text + "' is not 127.0.0.1:PORT or 0.0.0.0:PORT (PORT 1-65535)");
    } else {
      return new Policy.SidecarIngress(0, host, port);
    }
    return null;
  }

  /**
   * {@code egress[].port.number}, or null when the entry has no port. Its {@code protocol} must be one of Istio's; the
   * admitted service's own port protocol is what its listener speaks.
   */
  private static Integer port(Fields e) {
    return port(e, "the port the entry's hosts are admitted on");
  }

  /** As {@link #port(Fields)}, {@code role} saying what the required number is. */
  private static Integer port(Fields e, String role) {
    Fields p = e.object("port", false);
    if (p == null) {
      return null;
    }
    p.allow(Set.of("number", "protocol", "name"), Map.of(
        "targetPort", "targetPort is not supported in a Sidecar's egress port; remove it"));
    Integer number = p.integer("number", 1, 65535, null);
    if (number == null && !p.has("number")) {
      p.error("number", "is required: " + role);
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
