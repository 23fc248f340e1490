package io.keelson.control.policy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Gateway API {@code Gateway} ({@code gateway.networking.k8s.io/v1}), translated onto the model of Istio's Gateway
 * ({@link Policy.Gateway}): each listener is a server ({@code name} its port name, which a route's
 * {@code sectionName} picks; {@code hostname} its one host, {@code *} without): HTTP, HTTPS with {@code tls.mode:
 * Terminate} and the Secret of {@code certificateRefs[0]}, TLS with {@code tls.mode: Passthrough} (TLSRoutes) or
 * {@code Terminate} and the Secret of {@code certificateRefs[0]} (TLSRoutes and TCPRoutes, as Istio), or TCP (TCPRoutes); {@code allowedRoutes} as {@link ListenerRoutes} reads it. As Istio does for a deployed gateway, the proxies it
 * programs are those labelled {@value #GATEWAY_NAME_LABEL}: NAME. Stateless.
 */
final class GatewayApiParser {
  /** The label Istio puts on a Gateway API gateway's pods, and the selector Keelson gives the Gateway. */
  static final String GATEWAY_NAME_LABEL = Policy.Gateway.NAME_LABEL;
  private static final Set<String> CLASSES = Set.of("istio", "keelson");
  private static final Set<String> PROTOCOLS = Set.of("HTTP", "HTTPS", "TLS", "TCP");

  private GatewayApiParser() {}

  static Policy gateway(Policy.Meta meta, Fields spec) {
    spec.allow(Set.of("gatewayClassName", "listeners"), Map.of(
        "addresses", "addresses are not supported; a Keelson gateway binds its --gateway-address",
        "infrastructure", "infrastructure is not supported; start the gateway proxy with bin/keelson proxy --gateway"));
    String cls = spec.string("gatewayClassName", true);
    if (cls != null && !CLASSES.contains(cls)) {
      spec.error("gatewayClassName", "'" + cls + "' is not a class Keelson implements; expected istio or keelson");
    }
    List<Fields> listeners = spec.objects("listeners", true);
    List<Policy.Server> servers = new ArrayList<>();
    Map<Integer, String> protocolByPort = new java.util.HashMap<>();
    Set<String> names = new java.util.HashSet<>();
    for (int i = 0; i < listeners.size(); i++) {
      Fields l = listeners.get(i);
      l.allow(Set.of("name", "port", "protocol", "hostname", "tls", "allowedRoutes"), Map.of());
      String name = l.string("name", true);
      if (name != null && !names.add(name)) {
        l.error("name", "'" + name + "' is the name of another listener; expected unique names (sectionName picks one)");
      }
      Integer port = l.integer("port", 1, 65535, null);
      if (port == null && !l.has("port")) {
        l.error("port", "is required");
      }
      String protocol = l.string("protocol", true);
      if (protocol != null && !PROTOCOLS.contains(protocol)) {
        l.error("protocol", "'" + protocol + "' is not supported; expected HTTP, HTTPS, TLS or TCP");
        protocol = null;
      }
      String hostname = l.string("hostname", false);
      if (hostname != null && (hostname.equals("*") || !IstioGatewayParser.gatewayHost(hostname))) {
        l.error("hostname", "'" + hostname + "' is not a hostname; expected a DNS name or a wildcard *.example.com");
        hostname = null;
      }
      if ("TCP".equals(protocol) && hostname != null) {
        l.error("hostname", "a TCP listener matches no host name; expected no hostname (use a TLS listener to route"
            + " by SNI)");
      }
      Policy.ServerTls tls = "TLS".equals(protocol) ? tlsListener(l, meta.namespace()) : tls(l, meta.namespace(), "HTTPS".equals(protocol));
      Policy.AllowedRoutes allowed = ListenerRoutes.allowedRoutes(l.object("allowedRoutes", false), protocol,
          Policy.Server.terminatesTls(protocol, tls));
      if (name == null || port == null || protocol == null) {
        continue;
      }
      String other = protocolByPort.putIfAbsent(port, protocol);
      if (other != null && !Policy.Server.sharePort(other, protocol)) {
        l.error("port", "port " + port + " is " + other + " in another listener and " + protocol + " here; expected one"
            + " protocol per port (HTTPS and TLS may share one, by SNI)");
      }
      servers.add(new Policy.Server(i, port, name, protocol, List.of(hostname == null ? "*" : hostname), tls, allowed));
    }
    return new Policy.Gateway(meta, Map.of(GATEWAY_NAME_LABEL, meta.name()), servers);
  }

  /**
   * A TLS listener's {@code tls}: {@code mode: Passthrough} (the client's TLS goes to the backend, chosen by SNI), or
   * {@code mode: Terminate} with {@code certificateRefs} (Istio's: the gateway terminates with the listener's
   * certificate, selected by its hostname, and TCPRoutes relay the plaintext).
   */
  private static Policy.ServerTls tlsListener(Fields l, String namespace) {
    Fields t = l.object("tls", true);
    if (t == null) {
      return null;
    }
    t.allow(Set.of("mode", "certificateRefs", "options"), Map.of());
    String mode = t.string("mode", true);
    if ("Terminate".equals(mode)) {
      if (t.has("options")) {
        t.error("options", "tls options are not supported yet");
      }
      String secret = certificate(t, namespace);
      return secret == null ? null : new Policy.ServerTls(false, "SIMPLE", secret, null);
    }
    if (mode != null && !mode.equals("Passthrough")) {
      t.error("mode", "'" + mode + "' is not a TLS listener mode; expected Passthrough (TLSRoutes, by SNI) or Terminate"
          + " (with certificateRefs; TLSRoutes and TCPRoutes)");
    }
    if (t.has("certificateRefs")) {
      t.error("certificateRefs", "a Passthrough listener holds no certificate (the backend terminates TLS); expected"
          + " none");
    }
    if (t.has("options")) {
      t.error("options", "tls options are not supported yet");
    }
    return new Policy.ServerTls(false, "PASSTHROUGH", null, null);
  }

  private static Policy.ServerTls tls(Fields l, String namespace, boolean https) {
    Fields t = l.object("tls", false);
    if (t == null) {
      if (https) {
        l.error("tls", "is required for an HTTPS listener; expected {mode: Terminate, certificateRefs: [{name: SECRET}]}");
      }
      return null;
    }
    if (!https) {
      l.error("tls", "applies to HTTPS listeners only");
    }
    t.allow(Set.of("mode", "certificateRefs"), Map.of(
        "options", "tls options are not supported yet",
        "frontendValidation", "client certificate validation is not supported yet for Gateway API listeners; use an"
            + " Istio Gateway with tls.mode MUTUAL"));
    String mode = t.string("mode", false);
    if (mode != null && !mode.equals("Terminate")) {
      t.error("mode", "'" + mode + "' is not supported yet; expected Terminate");
    }
    String secret = certificate(t, namespace);
    return secret == null ? null : new Policy.ServerTls(false, "SIMPLE", secret, null);
  }

  /** The Secret of {@code tls.certificateRefs[0]}: NAME, or NAMESPACE/NAME in another namespace; null after an error. */
  private static String certificate(Fields t, String namespace) {
    List<Fields> refs = t.objects("certificateRefs", true);
    if (refs.size() > 1) {
      t.error("certificateRefs", "several certificates per listener are not supported yet; expected one");
    }
    String secret = null;
    for (Fields r : refs) {
      r.allow("group", "kind", "name", "namespace");
      String kind = r.string("kind", false);
      if (kind != null && !kind.equals("Secret")) {
        r.error("kind", "'" + kind + "' is not supported; expected Secret");
      }
      String group = r.string("group", false);
      if (group != null && !group.isEmpty() && !group.equals("core")) {
        r.error("group", "'" + group + "' is not the group of kind Secret; expected \"\"");
      }
      // A Secret of another namespace is NAMESPACE/NAME; a ReferenceGrant there must permit it (the store checks).
      String ns = r.string("namespace", false);
      String name = r.string("name", true);
      if (secret == null && name != null) {
        secret = ns == null || ns.equals(namespace) ? name : ns + "/" + name;
      }
    }
    return secret;
  }
}
