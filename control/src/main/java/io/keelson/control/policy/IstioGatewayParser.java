package io.keelson.control.policy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Istio's {@code Gateway} ({@code networking.istio.io}) and the Kubernetes {@code v1 Secret} of type
 * {@code kubernetes.io/tls} its HTTPS servers name in {@code credentialName}. Servers: HTTP, HTTP2, HTTPS (TLS
 * termination SIMPLE or MUTUAL), TLS with {@code mode: PASSTHROUGH} (routed by SNI) or SIMPLE/MUTUAL (terminated,
 * the plaintext relayed by the bound VirtualServices' {@code tcp} routes) and TCP. Stateless.
 */
final class IstioGatewayParser {
  // A DNS name, optionally with a leading "*." label; or "*" alone.
  private static final Pattern HOST = Pattern.compile("\\*|(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Set<String> PROTOCOLS = Set.of("HTTP", "HTTP2", "GRPC-WEB", "HTTPS", "TLS", "TCP");

  private IstioGatewayParser() {}

  /** True when {@code host} is one a gateway can serve: a DNS name, {@code *.suffix} or {@code *}. */
  static boolean gatewayHost(String host) {
    return host.length() <= 253 && HOST.matcher(host).matches();
  }

  static Policy gateway(Policy.Meta meta, Fields spec) {
    spec.allow("selector", "servers");
    Map<String, String> selector = spec.stringMap("selector");
    if (selector.isEmpty()) {
      spec.error("selector", "is required; expected the labels of the gateway proxies (bin/keelson proxy --gateway"
          + " --labels istio=ingressgateway), e.g. {istio: ingressgateway}");
    }
    List<Fields> servers = spec.objects("servers", true);
    List<Policy.Server> out = new ArrayList<>();
    Map<Integer, String> protocolByPort = new java.util.HashMap<>();
    for (int i = 0; i < servers.size(); i++) {
      Policy.Server s = server(servers.get(i), i);
      if (s == null) {
        continue;
      }
      String other = protocolByPort.putIfAbsent(s.port(), s.portProtocol());
      if (other != null && !Policy.Server.sharePort(other, s.portProtocol())) {
        servers.get(i).error("port", "port " + s.port() + " is bound to " + other + " by another server of this"
            + " Gateway and to " + s.protocol() + " here; expected one protocol per port (HTTP, HTTP2 and GRPC-WEB may share; so may HTTPS and TLS, by SNI)");
      }
      out.add(s);
    }
    return new Policy.Gateway(meta, selector, out);
  }

  private static Policy.Server server(Fields s, int index) {
    s.allow(Set.of("port", "hosts", "tls", "name", "bind", "defaultEndpoint"), Map.of(
        "bind", "bind is not supported yet; the gateway listens on its --gateway-address",
        "defaultEndpoint", "defaultEndpoint is for sidecars; expected port, hosts, tls"));
    Fields port = s.object("port", true);
    Integer number = null;
    String protocol = null;
    String portName = null;
    if (port != null) {
      port.allow(Set.of("number", "protocol", "name", "targetPort"), Map.of(
          "targetPort", "targetPort is not supported; the gateway listens on port.number"));
      number = port.integer("number", 1, 65535, null);
      if (number == null && !port.has("number")) {
        port.error("number", "is required");
      }
      portName = port.string("name", false);
      protocol = port.string("protocol", true);
      if (protocol != null) {
        protocol = protocol.toUpperCase(java.util.Locale.ROOT);
        if (!PROTOCOLS.contains(protocol)) {
          port.error("protocol", "'" + protocol + "' is not a gateway server protocol; expected HTTP, HTTP2, GRPC-WEB,"
              + " HTTPS, TLS or TCP");
          protocol = null;
        }
      }
    }
    List<String> hosts = new ArrayList<>();
    List<String> written = s.strings("hosts", true);
    for (int i = 0; i < written.size(); i++) {
      String h = written.get(i);
      int slash = h.indexOf('/');
      String host = slash >= 0 ? h.substring(slash + 1) : h; // "namespace/host": every namespace's VirtualServices
      if (!gatewayHost(host)) {
        s.error("hosts", "hosts[" + i + "] '" + h + "' is not a DNS name; expected a name such as shop.example.com,"
            + " a wildcard *.example.com, or *");
      } else if (!hosts.contains(host)) {
        hosts.add(host);
      }
    }
    Policy.ServerTls tls = tls(s.object("tls", false), "HTTPS".equals(protocol), "TLS".equals(protocol));
    if ("HTTPS".equals(protocol) && (tls == null || tls.mode() == null) && !s.has("tls")) {
      s.error("tls", "is required for an HTTPS server; expected {mode: SIMPLE, credentialName: SECRET}");
    }
    if (tls != null && tls.terminates() && !"HTTPS".equals(protocol)
        && !"TLS".equals(protocol) && !"GRPC-WEB".equals(protocol) && protocol != null) {
      s.error("tls.mode", "terminating TLS needs port.protocol HTTPS, GRPC-WEB or TLS; this server is " + protocol);
    }
    if ("TLS".equals(protocol) && (tls == null || tls.mode() == null)) {
      s.error("tls", "a TLS server needs {mode: PASSTHROUGH} (the client's TLS goes to the backend, routed by SNI)"
          + " or {mode: SIMPLE|MUTUAL, credentialName: SECRET} (terminated, the plaintext routed by tcp routes)");
    }
    if ("TCP".equals(protocol) && tls != null) {
      s.error("tls", "a TCP server takes no tls");
    }
    if (number == null || protocol == null) {
      return null;
    }
    return new Policy.Server(index, number, portName, protocol, hosts, tls);
  }

  private static Policy.ServerTls tls(Fields t, boolean https, boolean tlsServer) {
    if (t == null) {
      return null;
    }
    t.allow(Set.of("httpsRedirect", "mode", "credentialName", "minProtocolVersion", "maxProtocolVersion"), Map.of(
        "serverCertificate", "certificate files on the gateway are not supported; expected credentialName (a Secret)",
        "privateKey", "certificate files on the gateway are not supported; expected credentialName (a Secret)",
        "caCertificates", "certificate files on the gateway are not supported; expected credentialName (a Secret with"
            + " ca.crt)",
        "credentialNames", "several certificates per server are not supported yet; expected credentialName",
        "subjectAltNames", "subjectAltNames is not supported yet",
        "verifyCertificateSpki", "verifyCertificateSpki is not supported yet",
        "verifyCertificateHash", "verifyCertificateHash is not supported yet",
        "cipherSuites", "cipherSuites is not supported yet"));
    boolean redirect = Boolean.TRUE.equals(t.bool("httpsRedirect"));
    String mode = t.string("mode", false);
    if (mode != null) {
      switch (mode) {
        case "SIMPLE", "MUTUAL", "ISTIO_MUTUAL" -> { }
        case "PASSTHROUGH" -> {
          if (!tlsServer) {
            t.error("mode", "PASSTHROUGH needs port.protocol TLS");
          }
        }
        case "AUTO_PASSTHROUGH", "OPTIONAL_MUTUAL" -> {
          t.error("mode", mode + " is not supported yet; expected SIMPLE, MUTUAL, ISTIO_MUTUAL or PASSTHROUGH");
          mode = null;
        }
        default -> {
          t.error("mode", "'" + mode + "' is not a TLS mode; expected SIMPLE, MUTUAL, ISTIO_MUTUAL or PASSTHROUGH");
          mode = null;
        }
      }
    } else if (https) {
      t.error("mode", "is required for an HTTPS server; expected SIMPLE or MUTUAL");
    }
    String credential = t.string("credentialName", false);
    if ("ISTIO_MUTUAL".equals(mode) && credential != null) {
      t.error("credentialName", "is not used with mode ISTIO_MUTUAL (the gateway presents its own mesh certificate"
          + " and requires a mesh client certificate); expected no credentialName, or mode SIMPLE/MUTUAL");
    }
    if (mode != null && !mode.equals("PASSTHROUGH") && !mode.equals("ISTIO_MUTUAL") && credential == null) {
      t.error("credentialName", "is required with mode " + mode + "; expected the name of a Secret of type"
          + " kubernetes.io/tls (apiVersion: v1, kind: Secret)");
    }
    if (credential != null && credential.contains("/")) {
      t.error("credentialName", "'" + credential + "': a Secret in another namespace is not supported; expected the"
          + " name of a Secret in the Gateway's namespace");
    }
    String min = t.string("minProtocolVersion", false);
    if (min != null && !min.equals("TLSV1_2") && !min.equals("TLSV1_3") && !min.equals("TLS_AUTO")) {
      t.error("minProtocolVersion", "'" + min + "' is not supported; expected TLSV1_2 or TLSV1_3 (TLS 1.0 and 1.1 are"
          + " not offered)");
      min = null;
    }
    String max = t.string("maxProtocolVersion", false);
    if (max != null && !max.equals("TLSV1_3") && !max.equals("TLS_AUTO")) {
      t.error("maxProtocolVersion", "'" + max + "' is not supported; expected TLSV1_3 (or TLS_AUTO)");
    }
    return new Policy.ServerTls(redirect, mode, credential, "TLS_AUTO".equals(min) ? null : min);
  }

  /**
   * {@code apiVersion: v1, kind: Secret, type: kubernetes.io/tls, data: {tls.crt, tls.key[, ca.crt]}} (base64); the CA
   * may be Istio's {@code cacert}, and a Secret with a CA only (no tls.crt, tls.key) is a DestinationRule credential's.
   */
  static Policy secret(Policy.Meta meta, Fields top) {
    String type = top.string("type", true);
    if (type != null && !type.equals("kubernetes.io/tls") && !type.equals("Opaque")) {
      top.error("type", "'" + type + "' is not supported; expected kubernetes.io/tls");
    }
    if (top.has("stringData")) {
      top.error("stringData", "is not supported; expected data with base64 values, as kubectl writes them");
    }
    Fields data = top.object("data", true);
    if (data == null) {
      return null;
    }
    data.allow("tls.crt", "tls.key", "ca.crt", "cacert");
    if (data.has("ca.crt") && data.has("cacert")) {
      data.error("cacert", "is Istio's name for ca.crt, which this Secret also has; expected one of them");
    }
    String caField = data.has("cacert") ? "cacert" : "ca.crt";
    String ca = pem(data, caField, false, "CERTIFICATE");
    // A CA-only Secret (a DestinationRule credential's CA, Istio's <name>-cacert) has no certificate and key.
    boolean caOnly = ca != null && !data.has("tls.crt") && !data.has("tls.key");
    String cert = caOnly ? null : pem(data, "tls.crt", true, "CERTIFICATE");
    String key = caOnly ? null : pem(data, "tls.key", true, "PRIVATE KEY");
    boolean ok = caOnly || (cert != null && key != null);
    if (cert != null) {
      ok &= readable(data, "tls.crt", () -> io.keelson.control.ca.Pem.certificates(cert).isEmpty() ? null : cert);
    }
    if (key != null) {
      ok &= readable(data, "tls.key", () -> io.keelson.control.ca.Pem.privateKey(key));
    }
    if (ca != null) {
      ok &= readable(data, caField, () -> io.keelson.control.ca.Pem.certificates(ca).isEmpty() ? null : ca);
    }
    if (ok && !caOnly && !keyMatches(cert, key)) {
      data.error("tls.key", "is not the key of tls.crt's first certificate; expected the private key the certificate"
          + " was issued for");
      ok = false;
    }
    return ok ? new Policy.Secret(meta, cert, key, ca) : null;
  }

  /** True when {@code keyPem} signs what the public key of {@code certPem}'s first certificate verifies. */
  private static boolean keyMatches(String certPem, String keyPem) {
    try {
      java.security.PrivateKey key = io.keelson.control.ca.Pem.privateKey(keyPem);
      java.security.PublicKey pub = io.keelson.control.ca.Pem.certificates(certPem).getFirst().getPublicKey();
      String algorithm = switch (key.getAlgorithm()) {
        case "EC" -> "SHA256withECDSA";
        case "RSA" -> "SHA256withRSA";
        case "Ed25519", "EdDSA" -> "Ed25519";
        default -> null;
      };
      if (algorithm == null || !key.getAlgorithm().equals(pub.getAlgorithm())) {
        return algorithm == null; // an algorithm not checked here: the proxy checks it
      }
      byte[] probe = "keelson".getBytes(StandardCharsets.US_ASCII);
      java.security.Signature sign = java.security.Signature.getInstance(algorithm);
      sign.initSign(key);
      sign.update(probe);
      byte[] signature = sign.sign();
      java.security.Signature verify = java.security.Signature.getInstance(algorithm);
      verify.initVerify(pub);
      verify.update(probe);
      return verify.verify(signature);
    } catch (Exception e) {
      return false;
    }
  }

  private interface Reader {
    Object read() throws Exception;
  }

  private static boolean readable(Fields data, String field, Reader reader) {
    try {
      if (reader.read() != null) {
        return true;
      }
      data.error(field, "holds no certificate; expected PEM");
    } catch (Exception e) {
      data.error(field, "cannot be read: " + e.getMessage() + "; expected PEM as openssl or cert-manager writes it");
    }
    return false;
  }

  private static String pem(Fields data, String field, boolean required, String label) {
    String b64 = data.string(field, required);
    if (b64 == null) {
      return null;
    }
    String text;
    try {
      text = new String(Base64.getDecoder().decode(b64.replaceAll("\\s", "")), StandardCharsets.US_ASCII);
    } catch (IllegalArgumentException e) {
      data.error(field, "is not base64 (" + e.getMessage() + "); expected base64 of PEM text, as kubectl writes it");
      return null;
    }
    if (!text.contains("-----BEGIN ") || !text.contains(label + "-----")) {
      data.error(field, "is not PEM (" + label + "); expected base64 of PEM text beginning '-----BEGIN "
          + label.replace("PRIVATE KEY", "[RSA |EC ]PRIVATE KEY") + "-----'");
      return null;
    }
    return text;
  }
}
