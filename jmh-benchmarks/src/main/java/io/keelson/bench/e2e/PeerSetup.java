package io.keelson.bench.e2e;

import java.nio.file.Path;

/**
 * What an HTTP peer needs to start for one scenario: its own directory (config, logs), the
 * upstream to forward to, the core it is pinned to, the tools, and how to launch Keelson.
 * Immutable.
 */
record PeerSetup(Path dir, String upstreamHost, int upstreamPort, CpuPinning.Cpus cpus, Tools tools,
        KeelsonLaunch keelson, BenchCert tls) {

  /** A plaintext setup. */
  PeerSetup(Path dir, String upstreamHost, int upstreamPort, CpuPinning.Cpus cpus, Tools tools, KeelsonLaunch keelson) {
    this(dir, upstreamHost, upstreamPort, cpus, tools, keelson, null);
  }

  /** The URI clients use: https when the peer terminates TLS. */
  java.net.URI target(int port) {
    return java.net.URI.create((tls == null ? "http" : "https") + "://127.0.0.1:" + port + "/");
  }

  /** How the Keelson peer is launched: the launcher script, its JVM options, extra proxy arguments. */
  record KeelsonLaunch(Path launcher, String jvmOpts, java.util.List<String> extraArgs) {
  }
}
