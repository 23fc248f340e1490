package io.keelson.bench.e2e;

/** Renders the HAProxy peer's configuration: 1 thread, HTTP mode, {@code http-reuse always}. Stateless. */
final class HaproxyConf {
  private HaproxyConf() {
  }

  static String proxy(int port, String upstreamHost, int upstreamPort) {
    return proxy(port, upstreamHost, upstreamPort, null);
  }

  /** @param tls when non-null, the frontend terminates TLS with this certificate */
  static String proxy(int port, String upstreamHost, int upstreamPort, BenchCert tls) {
    return "# Written by `keelson bench`; run with: haproxy -db -f <this file>\n"
      + "global\n"
      + "  nbthread 1\n"
      + "  maxconn 4096\n" // haproxy raises its fd limit to about 2x maxconn; stay under common ulimits
      + "defaults\n"
      + "  mode http\n"
      + "  option http-keep-alive\n"
      + "  http-reuse always\n"
      + "  timeout connect 5s\n"
      + "  timeout client 60s\n"
      + "  timeout server 60s\n"
      + "frontend bench\n"
      + "  bind 127.0.0.1:" + port + (tls == null ? "" : " ssl crt " + tls.combined()) + "\n"
      + "  default_backend upstream\n"
      + "backend upstream\n"
      + "  server upstream1 " + upstreamHost + ":" + upstreamPort + "\n";
  }
}
