package io.keelson.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A throw-away self-signed EC P-256 certificate for the TLS scenarios (made with the openssl CLI),
 * as PEM files every peer reads: {@code cert.pem}, {@code key.pem} (PKCS#8) and, for HAProxy, both
 * in {@code combined.pem}. Immutable.
 */
record BenchCert(Path cert, Path key, Path combined) {

  /** Makes the certificate in {@code dir} (once per directory). */
  static BenchCert create(Path dir) throws IOException, PeerStartException {
    Files.createDirectories(dir);
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    Path combined = dir.resolve("combined.pem");
    if (!Files.exists(combined)) {
      List<String> cmd = List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes", "-keyout", key.toString(), "-out", cert.toString(), "-days", "2", "-subj", "/CN=localhost",
          "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1");
      try {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
          throw new PeerStartException("openssl could not make the bench certificate: " + out.strip());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new PeerStartException("interrupted while making the bench certificate");
      } catch (IOException e) {
        throw new PeerStartException("the TLS scenarios need the openssl CLI (apt-get install openssl): " + e.getMessage());
      }
      Files.writeString(combined, Files.readString(cert) + Files.readString(key));
    }
    return new BenchCert(cert, key, combined);
  }
}
