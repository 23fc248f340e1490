package io.keelson.dataplane.testing;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * ngtcp2's HTTP/3 example client ({@code gtlsclient}, Debian's ngtcp2-client) as an independent HTTP/3 peer: one
 * request, its response status, header fields and body read from the client's output. Stateless.
 */
public final class Ngtcp2Client {
  public static final String BINARY = "/usr/bin/gtlsclient";

  /** One response: {@code :status}, the header fields (lower case, as sent) and the body. */
  public record Response(int status, List<String> headers, String body, String output) {
    public String header(String name) {
      for (String h : headers) {
        if (h.startsWith(name.toLowerCase(Locale.ROOT) + ": ")) {
          return h.substring(name.length() + 2);
        }
      }
      return null;
    }
  }

  private Ngtcp2Client() {}

  public static boolean installed() {
    return java.nio.file.Files.isExecutable(Path.of(BINARY));
  }

  /**
   * {@code key} (a PKCS#8 EC key, as {@link TestCa} writes them) as a SEC1 key file beside it, for {@code --key}: GnuTLS
   * 3.7 reads the SEC1 form of an EC key, not PKCS#8's.
   */
  public static Path sec1Key(Path key) throws Exception {
    Path out = key.resolveSibling(key.getFileName() + ".sec1");
    Process openssl = new ProcessBuilder("openssl", "ec", "-in", key.toString(), "-out", out.toString())
        .redirectErrorStream(true).start();
    String output = new String(openssl.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (openssl.waitFor() != 0) {
      throw new IllegalStateException("openssl ec: " + output);
    }
    return out;
  }

  /** A GET of {@code https://authority/path} sent to 127.0.0.1:{@code port}. */
  public static Response get(int port, String authority, String path, Path dir) throws Exception {
    return send("GET", port, authority, path, null, dir);
  }

  /**
   * {@code method} with {@code body} (null for none) as its request body; the response body is read from the
   * client's {@code --download} file (its output interleaves debug lines).
   */
  public static Response send(String method, int port, String authority, String path, byte[] body, Path dir,
      String... options) throws Exception {
    return run(List.of(), "127.0.0.1", method, port, authority, path, body, dir, options);
  }

  /**
   * A GET of {@code https://sni/path} sending {@code sni} in the ClientHello: this client sends the host it connects to
   * as SNI ("localhost" for an IP address; it ignores {@code --sni}), so it runs in a mount namespace of its own where
   * {@code /etc/hosts} maps {@code sni} to 127.0.0.1 (needs root, as the other namespace tests).
   */
  public static Response getWithSni(int port, String sni, String path, Path dir, String... options) throws Exception {
    Path hosts = java.nio.file.Files.writeString(java.nio.file.Files.createTempFile(dir, "hosts", ""),
        "127.0.0.1 " + sni + "\n");
    return run(List.of("unshare", "-m", "sh", "-c", "mount --bind \"$0\" /etc/hosts && exec \"$@\"", hosts.toString()),
        sni, "GET", port, sni, path, null, dir, options);
  }

  private static Response run(List<String> prefix, String host, String method, int port, String authority, String path,
      byte[] body, Path dir, String... options) throws Exception {
    Path downloads = java.nio.file.Files.createTempDirectory(dir, "h3-download");
    List<String> cmd = new ArrayList<>(prefix);
    cmd.addAll(List.of(BINARY, "--exit-on-all-streams-close", "--no-quic-dump",
        "--no-http-dump", "--timeout=10s", "--handshake-timeout=10s", "--download=" + downloads, "-m", method));
    if (body != null) {
      Path data = java.nio.file.Files.createTempFile(dir, "h3-body", ".bin");
      java.nio.file.Files.write(data, body);
      cmd.add("--data=" + data);
    }
    cmd.addAll(List.of(options));
    cmd.addAll(List.of(host, Integer.toString(port), "https://" + authority + path));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("gtlsclient did not finish");
    }
    String output = new String(out, java.nio.charset.StandardCharsets.UTF_8);
    int status = -1;
    List<String> headers = new ArrayList<>();
    for (String line : output.lines().toList()) {
      // "http: stream 0x0 response headers started", then one "http: stream 0x0 [name: value]" per field
      int open = line.indexOf(" [");
      if (line.startsWith("http: stream ") && open > 0 && line.endsWith("]")) {
        String field = line.substring(open + 2, line.length() - 1);
        if (field.startsWith(":status: ")) {
          status = Integer.parseInt(field.substring(":status: ".length()).trim());
        } else if (!field.startsWith(":")) {
          headers.add(field);
        }
      }
    }
    String responseBody = "";
    try (var files = java.nio.file.Files.list(downloads)) {
      for (Path f : files.toList()) {
        responseBody = java.nio.file.Files.readString(f);
      }
    }
    return new Response(status, headers, responseBody, output);
  }
}
