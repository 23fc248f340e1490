package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.testing.TestCa;
import io.keelson.dataplane.testing.TlsYaml;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What the x-forwarded-client-cert tests share: a test CA, the proxy's certificate (SAN URI {@link #PROXY_ID}) and
 * a client's ({@link #CLIENT_ID}) written to a directory, the XFCC element the proxy adds for that client's
 * connection, an mTLS listener's YAML, and curl presenting the client certificate.
 */
final class XfccPeers {
  static final String PROXY_ID = "spiffe://test/ns/default/sa/proxy";
  static final String CLIENT_ID = "spiffe://test/ns/default/sa/client";
  static final String XFCC = "x-forwarded-client-cert";

  final Path dir;
  final Path serverCert;
  final Path clientCert;
  final Path clientKey;
  final Path caFile;
  /** The element this proxy adds for the client's connection: By, the certificate's SHA-256 Hash, URI. */
  final String element;

  private XfccPeers(Path dir, Path serverCert, Path clientCert, Path caFile, String element) {
    this.dir = dir;
    this.serverCert = serverCert;
    this.clientCert = clientCert;
    this.clientKey = dir.resolve("client.key");
    this.caFile = caFile;
    this.element = element;
  }

  static XfccPeers issue(Path dir, String caName) throws Exception {
    TestCa ca = new TestCa(caName);
    Path serverCert = ca.issue("proxy.test", "proxy.test", "localhost", PROXY_ID).write(dir, "server");
    TestCa.Leaf client = ca.issue("client", CLIENT_ID);
    Path clientCert = client.write(dir, "client");
    Path caFile = ca.write(dir, "ca.crt");
    String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(client.cert().getEncoded()));
    return new XfccPeers(dir, serverCert, clientCert, caFile, "By=" + PROXY_ID + ";Hash=" + hash + ";URI=" + CLIENT_ID);
  }

  /**
   * An HTTPS listener requiring the client certificate, advertising {@code alpn} (e.g. {@code "h2, http/1.1"}), with
   * {@code routes} and {@code clusters}, and {@code hcmFields} (one per line) in its connection manager.
   */
  String mtlsYaml(String alpn, String routes, String clusters, String hcmFields) {
    String tlsExtra = "          require_client_certificate: true\n";
    String common = "            alpn_protocols: [" + alpn + "]\n"
        + "            validation_context:\n              trusted_ca: { filename: \"" + caFile + "\" }\n";
    String yaml = TlsYaml.httpsListener(serverCert, dir.resolve("server.key"), tlsExtra, common, routes, clusters);
    String anchor = "stat_prefix: ingress_https";
    int at = yaml.indexOf(anchor);
    assertThat(at).as("layout").isPositive();
    String indent = " ".repeat(at - yaml.lastIndexOf('\n', at) - 1);
    int eol = yaml.indexOf('\n', at) + 1;
    StringBuilder extra = new StringBuilder();
    hcmFields.stripIndent().lines().forEach(l -> extra.append(indent).append(l).append('\n'));
    return yaml.substring(0, eol) + extra + yaml.substring(eol);
  }

  /**
   * curl ({@code version}: {@code --http2} or {@code --http1.1}) over TLS with the client certificate and the given
   * header lines; returns "<http version> <status>".
   */
  String curl(String version, int port, String path, String... headerLines) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("curl", "-sS", version, "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
        "--cacert", caFile.toString(), "--cert", clientCert.toString(), "--key", clientKey.toString()));
    for (String h : headerLines) {
      cmd.addAll(List.of("-H", h));
    }
    cmd.add("https://localhost:" + port + path);
    Process curl = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    assertThat(curl.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return new String(curl.getInputStream().readAllBytes());
  }
}
