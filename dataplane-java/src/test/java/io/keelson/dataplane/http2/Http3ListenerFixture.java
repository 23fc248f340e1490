package io.keelson.dataplane.http2;

import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.testing.QuicYaml;
import io.keelson.dataplane.testing.RunningProxies;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the HTTP/3 listener tests share: a temporary folder holding the QUIC listener's server certificate
 * ({@link #cert}, {@link #key}; made once per test class), the proxies a test starts (closed after each test), and a
 * proxy with one HTTP/3 listener {@code h3} on an ephemeral UDP port. A test class extends it; one class at a time.
 */
abstract class Http3ListenerFixture {
  @TempDir static Path dir;
  static Path cert;
  static Path key;

  final RunningProxies proxies = new RunningProxies();

  @BeforeAll
  static void serverCertificate() throws Exception {
    cert = QuicYaml.serverCertificate(dir);
    key = dir.resolve("server.key");
  }

  @AfterEach
  void closeProxies() throws Exception {
    proxies.close();
  }

  /** A bootstrap with listener {@code h3} (port 0, the server certificate) and {@code clusters}. */
  static String h3Bootstrap(String quicOptions, String virtualHosts, String filters, String hcmExtra, String clusters) {
    return QuicYaml.bootstrap(QuicYaml.listener("h3", 0, quicOptions, cert, key, virtualHosts, filters, hcmExtra),
        clusters);
  }

  /** Counter or gauge {@code name} from the proxy's {@code /stats}; -1 when it is not there. */
  static long stat(ProxyServer p, String name) throws Exception {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?m)^" + java.util.regex.Pattern.quote(name)
        + ": (\\d+)$").matcher(RunningProxies.admin(p, "/stats"));
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  /** Starts {@link #h3Bootstrap} on one worker; closed after the test. */
  ProxyServer startH3(String quicOptions, String virtualHosts, String filters, String hcmExtra, String clusters)
      throws Exception {
    return proxies.start(h3Bootstrap(quicOptions, virtualHosts, filters, hcmExtra, clusters), 1);
  }
}
