package io.keelson.bench.e2e;

import java.nio.file.Path;
import java.util.Set;

/**
 * Renders the nginx configurations the bench runs: the upstream ({@code return 200}) and the
 * nginx reverse-proxy peer (1 worker, upstream keep-alive). Everything (pid, logs, temp files)
 * lives in the given directory so runs never touch /etc or /var. Stateless.
 */
final class NginxConf {
  /** The upstream's response body: 100 bytes, the "small fixed response" of BENCHMARKS.md. */
  static final String BODY =
      "keelson bench upstream: a fixed small body, the same for every peer and every run .................\n";

  /** Temp-path directives per module; nginx-light builds leave some modules out. */
  private static final String[][] TEMP_PATHS = {
    {"http_proxy_module", "proxy_temp_path"},
    {"http_fastcgi_module", "fastcgi_temp_path"},
    {"http_uwsgi_module", "uwsgi_temp_path"},
    {"http_scgi_module", "scgi_temp_path"},
  };

  private NginxConf() {
  }

  static String upstream(Path dir, int port, Set<String> modulesLeftOut) {
    return prelude(dir, modulesLeftOut)
      + "  server {\n"
      + "    listen 127.0.0.1:" + port + " backlog=4096;\n"
      + "    location / {\n"
      + "      default_type text/plain;\n"
      + "      return 200 \"" + BODY.replace("\n", "\\n") + "\";\n"
      + "    }\n"
      + "  }\n"
      + "}\n";
  }

  /**
   * Hop B of the two-hop scenarios: with {@code certs}, TLS with proxy B's certificate and {@code ssl_verify_client on}
   * against the bench mesh CA (nginx checks the chain; it has no URI SAN matcher, so it does not check A's SPIFFE ID).
   */
  static String twoHopB(Path dir, int port, String upstreamHost, int upstreamPort, Set<String> modulesLeftOut,
      MeshBenchCerts certs) {
    if (certs == null) {
      return proxy(dir, port, upstreamHost, upstreamPort, modulesLeftOut);
    }
    String conf = proxy(dir, port, upstreamHost, upstreamPort, modulesLeftOut, new BenchCert(certs.bCert(), certs.bKey(), null));
    return conf.replace("    ssl_session_cache shared:SSL:10m;\n", "    ssl_session_cache shared:SSL:10m;\n"
      + "    ssl_client_certificate " + certs.ca() + ";\n"
      + "    ssl_verify_client on;\n");
  }

  /**
   * Hop A of the two-hop scenarios: forwards to hop B (upstream keep-alive); with {@code certs}, over TLS with
   * {@code proxy_ssl_certificate} (proxy A's), verifying B's chain and name ({@code proxy_ssl_verify on},
   * name localhost) and reusing TLS sessions.
   */
  static String twoHopA(Path dir, int port, int hopBPort, Set<String> modulesLeftOut, MeshBenchCerts certs) {
    String conf = proxy(dir, port, "127.0.0.1", hopBPort, modulesLeftOut);
    if (certs == null) {
      return conf;
    }
    return conf.replace("      proxy_pass http://backend;\n", "      proxy_pass https://backend;\n"
      + "      proxy_ssl_certificate " + certs.aCert() + ";\n"
      + "      proxy_ssl_certificate_key " + certs.aKey() + ";\n"
      + "      proxy_ssl_trusted_certificate " + certs.ca() + ";\n"
      + "      proxy_ssl_verify on;\n"
      + "      proxy_ssl_name localhost;\n"
      + "      proxy_ssl_session_reuse on;\n");
  }

  static String proxy(Path dir, int port, String upstreamHost, int upstreamPort, Set<String> modulesLeftOut) {
    return proxy(dir, port, upstreamHost, upstreamPort, modulesLeftOut, null);
  }

  /** @param tls when non-null, the listener terminates TLS with this certificate (session cache on) */
  static String proxy(Path dir, int port, String upstreamHost, int upstreamPort, Set<String> modulesLeftOut, BenchCert tls) {
    String ssl = tls == null ? "" : "    ssl_certificate " + tls.cert() + ";\n"
      + "    ssl_certificate_key " + tls.key() + ";\n"
      + "    ssl_session_cache shared:SSL:10m;\n";
    return prelude(dir, modulesLeftOut)
      + "  upstream backend {\n"
      + "    server " + upstreamHost + ":" + upstreamPort + ";\n"
      + "    keepalive 64;\n"
      + "    keepalive_requests 1000000;\n"
      + "  }\n"
      + "  server {\n"
      + "    listen 127.0.0.1:" + port + " backlog=4096" + (tls == null ? "" : " ssl") + ";\n"
      + ssl
      + "    location / {\n"
      + "      proxy_pass http://backend;\n"
      + "      proxy_http_version 1.1;\n"
      + "      proxy_set_header Connection \"\";\n"
      + "    }\n"
      + "  }\n"
      + "}\n";
  }

  private static String prelude(Path dir, Set<String> modulesLeftOut) {
    StringBuilder temp = new StringBuilder("  client_body_temp_path " + dir.resolve("tmp/client_body") + ";\n");
    for (String[] tp : TEMP_PATHS) {
      if (!modulesLeftOut.contains(tp[0])) {
        temp.append("  ").append(tp[1]).append(' ').append(dir.resolve("tmp/" + tp[1])).append(";\n");
      }
    }
    return "# Written by `keelson bench`; run with: nginx -p " + dir + " -c " + dir.resolve("nginx.conf") + "\n"
      + "daemon off;\n"
      + "master_process on;\n"
      + "worker_processes 1;\n"
      + "pid " + dir.resolve("nginx.pid") + ";\n"
      + "error_log " + dir.resolve("error.log") + " warn;\n"
      + "events {\n"
      + "  worker_connections 8192;\n"
      + "}\n"
      + "http {\n"
      + "  access_log off;\n"
      + "  keepalive_requests 1000000;\n"
      + "  keepalive_timeout 60s;\n"
      + temp;
  }

  /** Modules an nginx build was configured without, from {@code nginx -V} ("--without-http_uwsgi_module"). */
  static Set<String> modulesLeftOut(String nginxDashCapitalV) {
    java.util.Set<String> out = new java.util.HashSet<>();
    for (String token : nginxDashCapitalV.split("\\s+")) {
      if (token.startsWith("--without-")) {
        out.add(token.substring("--without-".length()));
      }
    }
    return out;
  }
}
