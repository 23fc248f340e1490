package io.keelson.bench.e2e;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Throw-away mesh-shaped certificates for the two-hop mTLS scenario, made with the openssl CLI: a
 * self-signed EC P-256 CA and two leaves signed by it, proxy A (the caller, {@link #SPIFFE_A}) and
 * proxy B (the destination, {@link #SPIFFE_B}), each with its SPIFFE URI SAN plus
 * {@code DNS:localhost, IP:127.0.0.1}, serverAuth + clientAuth. Keys are PKCS#8 PEM. Immutable.
 */
record MeshBenchCerts(Path ca, Path aCert, Path aKey, Path bCert, Path bKey) {
  static final String SPIFFE_A = "spiffe://bench.keelson.local/ns/bench/sa/proxy-a";
  static final String SPIFFE_B = "spiffe://bench.keelson.local/ns/bench/sa/proxy-b";

  /** Makes the CA and both leaves in {@code dir} (once per directory). */
  static MeshBenchCerts create(Path dir) throws IOException, PeerStartException {
    Files.createDirectories(dir);
    MeshBenchCerts c = new MeshBenchCerts(dir.resolve("ca.pem"), dir.resolve("a.pem"), dir.resolve("a-key.pem"),
        dir.resolve("b.pem"), dir.resolve("b-key.pem"));
    if (Files.exists(c.bKey())) {
      return c;
    }
    Path caKey = dir.resolve("ca-key.pem");
    openssl(List.of("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", caKey.toString(), "-out", c.ca().toString(), "-days", "2", "-subj", "/CN=keelson bench mesh CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"));
    leaf(dir, "a", SPIFFE_A, c.aCert(), c.aKey(), c.ca(), caKey);
    leaf(dir, "b", SPIFFE_B, c.bCert(), c.bKey(), c.ca(), caKey);
    return c;
  }

  private static void leaf(Path dir, String name, String spiffe, Path cert, Path key, Path ca, Path caKey)
      throws IOException, PeerStartException {
    Path csr = dir.resolve(name + ".csr");
    Path ext = dir.resolve(name + ".ext");
    Files.writeString(ext, "subjectAltName=" + sanList(spiffe) + "\n"
        + "extendedKeyUsage=serverAuth,clientAuth\n"
        + "keyUsage=critical,digitalSignature,keyAgreement\n"
        + "basicConstraints=critical,CA:FALSE\n");
    openssl(List.of("openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", key.toString(), "-out", csr.toString(), "-subj", "/CN=" + name));
    openssl(List.of("openssl", "x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey", caKey.toString(),
        "-CAcreateserial", "-days", "2", "-sha256", "-extfile", ext.toString(), "-out", cert.toString()));
  }

  /** The SAN extension value of a leaf: its SPIFFE ID first, then the loopback names the peers dial. */
  static String sanList(String spiffe) {
    return "URI:" + spiffe + ",DNS:localhost,IP:127.0.0.1";
  }

  private static void openssl(List<String> cmd) throws IOException, PeerStartException {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes());
      if (p.waitFor() != 0) {
        throw new PeerStartException("openssl could not make the bench mesh certificates (" + String.join(" ", cmd)
            + "): " + out.strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new PeerStartException("interrupted while making the bench mesh certificates");
    } catch (IOException e) {
      throw new PeerStartException("the two-hop mTLS scenario needs the openssl CLI (apt-get install openssl): "
          + e.getMessage());
    }
  }
}
