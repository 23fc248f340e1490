package io.keelson.dataplane.tls.offload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * What this machine's kernel should answer to {@code TCP_ULP "tls"}, read independently of the probe: the
 * running kernel's config ({@code /proc/config.gz}) and whether the {@code tls} module is loaded. Stateless.
 */
final class KernelTlsAnswer {
  enum Expected { AVAILABLE, ENOENT, UNKNOWN }

  private KernelTlsAnswer() {}

  static Expected expected() {
    if (Files.exists(Path.of("/sys/module/tls"))) {
      return Expected.AVAILABLE;
    }
    Path config = Path.of("/proc/config.gz");
    if (!Files.isReadable(config)) {
      return Expected.UNKNOWN;
    }
    try (InputStream in = new GZIPInputStream(Files.newInputStream(config))) {
      String text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
      if (text.contains("# CONFIG_TLS is not set")) {
        return Expected.ENOENT;
      }
      if (text.contains("\nCONFIG_TLS=y")) {
        return Expected.AVAILABLE;
      }
      return Expected.UNKNOWN; // =m: loadable, depends on modprobe and privileges
    } catch (IOException e) {
      return Expected.UNKNOWN;
    }
  }
}
