package io.keelson.dataplane.testing;

import java.nio.file.Path;

/** Bootstrap YAML pieces for tests of HTTP/3 (QUIC) listeners. Stateless. */
public final class QuicYaml {
  private QuicYaml() {}

  /** A server certificate for {@code localhost} from a new test CA, written to {@code dir} (key beside it as server.key). */
  public static Path serverCertificate(Path dir) throws Exception {
    return new TestCa("keelson-h3-test-ca").issue("proxy.test", "proxy.test", "localhost").write(dir, "server");
  }

  /**
   * gtlsclient's options to present {@code leaf} as its client certificate, written to {@code dir} as
   * {@code <name>.crt} and {@code <name>-sec1.key} (GnuTLS 3.7 reads the SEC1 form of an EC key, not PKCS#8's).
   */
  public static String[] clientCertificateOptions(TestCa.Leaf leaf, Path dir, String name) throws Exception {
    Path cert = leaf.write(dir, name);
    Path sec1 = dir.resolve(name + "-sec1.key");
    Process openssl = new ProcessBuilder("openssl", "ec", "-in", dir.resolve(name + ".key").toString(), "-out",
        sec1.toString()).redirectErrorStream(true).start();
    String out = new String(openssl.getInputStream().readAllBytes());
    if (openssl.waitFor() != 0) {
      throw new IllegalStateException("openssl ec: " + out);
    }
    return new String[] {"--cert=" + cert, "--key=" + sec1};
  }

  /** The listener's validation_context trusting {@code trustedCa}'s file: put in {@code yaml} after its alpn line. */
  public static String withClientTrust(String yaml, Path trustedCa) {
    return yaml.replace("              alpn_protocols: [h3]\n", "              alpn_protocols: [h3]\n"
        + "              validation_context: { trusted_ca: { filename: \"" + trustedCa + "\" } }\n");
  }

  /**
   * One Listener item (indented 2 spaces, for a {@code listeners:} list) {@code name}: UDP on 127.0.0.1:{@code port},
   * {@code quic_options}, an envoy.transport_sockets.quic chain with {@code cert}/{@code key} and a connection manager
   * (codec_type HTTP3, stat_prefix {@code name}) with {@code virtualHosts} (items indented 12 spaces, as
   * {@link ProxyHarness#allTo}), {@code httpFilters} (items indented 10 spaces) before the router and {@code hcmExtra}
   * (fields indented 10 spaces).
   */
  public static String listener(String name, int port, String quicOptions, Path cert, Path key, String virtualHosts,
      String httpFilters, String hcmExtra) {
    return listener(name, port, quicOptions, cert, key, "", virtualHosts, httpFilters, hcmExtra);
  }

  /** As above, with {@code tlsExtra}: fields of the downstream_tls_context (indented 12 spaces), may be "". */
  public static String listener(String name, int port, String quicOptions, Path cert, Path key, String tlsExtra,
      String virtualHosts, String httpFilters, String hcmExtra) {
    return listenerHead(name, port, quicOptions) + chain(name, cert, key, tlsExtra, virtualHosts, httpFilters, hcmExtra);
  }

  /** A QUIC Listener item up to its {@code filter_chains:} key: the items ({@link #chain}) follow. */
  public static String listenerHead(String name, int port, String quicOptions) {
    return """
          - name: %s
            address: { socket_address: { protocol: UDP, address: 127.0.0.1, port_value: %d } }
            udp_listener_config:
              quic_options: %s
            filter_chains:
        """.formatted(name, port, quicOptions);
  }

  /**
   * One {@code filter_chains} item of {@link #listener} (indented 4 spaces, starting {@code - transport_socket:}): the
   * envoy.transport_sockets.quic socket with {@code cert}/{@code key} and a connection manager with stat_prefix
   * {@code statPrefix} and its routes inline (route config {@code local}).
   */
  public static String chain(String statPrefix, Path cert, Path key, String tlsExtra, String virtualHosts,
      String httpFilters, String hcmExtra) {
    return """
            - transport_socket:
                name: envoy.transport_sockets.quic
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.transport_sockets.quic.v3.QuicDownstreamTransport
                  downstream_tls_context:
        %s
                    common_tls_context:
                      tls_certificates:
                      - certificate_chain: { filename: "%s" }
                        private_key: { filename: "%s" }
                      alpn_protocols: [h3]
              filters:
              - name: envoy.filters.network.http_connection_manager
                typed_config:
                  "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                  codec_type: HTTP3
                  stat_prefix: %s
                  http3_protocol_options: {}
        %s
                  route_config:
                    name: local
                    virtual_hosts:
        %s
                  http_filters:
        %s
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
        """.formatted(tlsExtra.stripTrailing(), cert, key, statPrefix, hcmExtra.stripTrailing(),
        virtualHosts.stripTrailing(), httpFilters.stripTrailing()).replace("\n\n", "\n").replace("\n\n", "\n");
  }

  /** A file access log to {@code file} in {@code format}, as {@link #listener}'s {@code hcmExtra}. */
  public static String accessLog(Path file, String format) {
    return ProxyHarness.fileAccessLog(file, format).stripIndent().lines().map(l -> "          " + l)
        .reduce("", (a, b) -> a + b + "\n");
  }

  /** A bootstrap with {@code listeners} (items from {@link #listener}) and {@code clusters} (items indented 2 spaces). */
  public static String bootstrap(String listeners, String clusters) {
    return "static_resources:\n  listeners:\n" + listeners.stripTrailing() + "\n  clusters:\n" + clusters.stripTrailing()
        + "\n";
  }
}
