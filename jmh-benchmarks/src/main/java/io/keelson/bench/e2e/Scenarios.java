package io.keelson.bench.e2e;

import java.nio.file.Path;
import java.util.List;

/**
 * The scenarios `keelson bench` knows, in the order they run. A new scenario is one entry here.
 * Stateless.
 */
final class Scenarios {
  private Scenarios() {
  }

  /** Every built-in scenario; wrk's report script is written into {@code resultsDir}. */
  static List<Scenario> builtIn(Path resultsDir) {
    Path script = resultsDir.resolve("wrk-report.lua");
    List<HttpPeer> httpPeers = List.of(new DirectPeer(), new KeelsonPeer(), new NginxPeer(), new HaproxyPeer());
    // TLS is terminated by the proxies; the upstream is plaintext, so there is no "direct" baseline.
    List<HttpPeer> tlsPeers = List.of(new KeelsonPeer(), new NginxPeer(), new HaproxyPeer());
    return List.of(
      new HttpScenario("http1-keepalive", "HTTP/1.1 plaintext, keep-alive (wrk -t1)",
        new WrkLoad(List.of(), script), httpPeers),
      new HttpScenario("http1-close", "HTTP/1.1 plaintext, a new connection per request (wrk -t1, Connection: close)",
        new WrkLoad(List.of("Connection: close"), script), httpPeers),
      new HttpScenario("http1-keepalive-observed",
        "as http1-keepalive, Keelson with an access log file and 1% trace sampling exported over OTLP/gRPC to an"
        + " in-bench collector (metrics are always on); compare with http1-keepalive",
        new WrkLoad(List.of(), script), List.of(new DirectPeer(), new KeelsonPeer(true))),
      new HttpScenario("http1-keepalive-traced-all",
        "as http1-keepalive-observed with 100% trace sampling: every request exports a span; compare with http1-keepalive",
        new WrkLoad(List.of(), script), List.of(new DirectPeer(), new KeelsonPeer(100, false))),
      new HttpScenario("http1-keepalive-observability",
        "Keelson alone in three configurations taken in turns: default (metrics only), observed (access log file,"
        + " 1% trace sampling exported over OTLP) and traced-all (the same at 100%); the observability cost",
        new WrkLoad(List.of(), script), List.of(new KeelsonPeer("keelson", -1, false),
          new KeelsonPeer("keelson-observed", 1, false), new KeelsonPeer("keelson-traced-all", 100, false))),
      new HttpScenario("http1-keepalive-resilient",
        "as http1-keepalive, Keelson with retries, outlier detection, circuit breakers and health checks on; compare with http1-keepalive",
        new WrkLoad(List.of(), script), List.of(new DirectPeer(), new KeelsonPeer(false, true))),
      new HttpScenario("tls-keepalive", "HTTPS (TLS 1.3 terminated by the peer, plaintext upstream), keep-alive (wrk -t1)",
        new WrkLoad(List.of(), script), tlsPeers, true),
      new HttpScenario("tls-handshake", "HTTPS, a new connection and TLS handshake per request (wrk -t1, Connection: close)",
        new WrkLoad(List.of("Connection: close"), script), tlsPeers, true),
      // h2c downstream, HTTP/1.1 upstream (the shared nginx upstream): no "direct" peer, since the
      // upstream does not speak h2c.
      new HttpScenario("h2c-multiplexed", "HTTP/2 cleartext, prior knowledge, 10 streams per connection (h2load -t1 -m10)",
        new H2loadLoad(10), h2cPeers()),
      new HttpScenario("h2c-keepalive", "HTTP/2 cleartext, prior knowledge, one stream at a time per connection (h2load -t1 -m1)",
        new H2loadLoad(1), h2cPeers()),
      // HTTP/2 over TLS (ALPN h2, TLS terminated by the peer), HTTP/1.1 upstream.
      new HttpScenario("h2-tls-multiplexed", "HTTP/2 over TLS (ALPN h2), 10 streams per connection (h2load -t1 -m10)",
        new H2loadLoad(10), h2cPeers(), true),
      new HttpScenario("h2-tls-handshake", "HTTP/2 over TLS (ALPN h2), a new connection and TLS handshake per "
        + H2_REQUESTS_PER_HANDSHAKE + " requests (h2load -t1 -m1 -c C -n C*" + H2_REQUESTS_PER_HANDSHAKE + ", in batches)",
        new H2loadHandshakeLoad(H2_REQUESTS_PER_HANDSHAKE), h2cPeers(), true),
      // Sidecar-to-sidecar: wrk → proxy A → proxy B → upstream, both proxies of a pair on the proxy core (core 0).
      // keelson mTLS/plaintext is the cost of mesh mTLS; nginx's same ratio (proxy_ssl) is the reference.
      new HttpScenario("two-hop-plaintext", "two proxies in a chain (wrk → A → B → upstream), plaintext between them;"
        + " both proxies on core 0 (wrk -t1)",
        new WrkLoad(List.of(), script), List.of(new TwoHopPeer("keelson", false), new TwoHopPeer("nginx", false))),
      new HttpScenario("two-hop-mtls", "as two-hop-plaintext, A → B over mTLS (A presents a client certificate, B requires"
        + " one; Keelson checks SPIFFE URI SANs, nginx proxy_ssl + ssl_verify_client checks the chain) (wrk -t1)",
        new WrkLoad(List.of(), script), List.of(new TwoHopPeer("keelson", true), new TwoHopPeer("nginx", true))),
      // The #6 cost goal: both Keelson pairs started once and kept running, measured in turns within one
      // scenario, so each plaintext run has its mTLS run seconds away rather than minutes and a launch away.
      new HttpScenario("two-hop-mtls-turns", "Keelson's two-hop pair plaintext (keelson) and mTLS (keelson-mtls),"
        + " both started once and measured in turns; per-turn mTLS/plaintext ratios of req/s and of CPU per request"
        + " (wrk -t1)",
        new WrkLoad(List.of(), script), List.of(new TwoHopPeer("keelson", "keelson", false),
          new TwoHopPeer("keelson-mtls", "keelson", true))));
  }

  /** Requests on each new TLS connection in h2-tls-handshake: "a few", so the handshake dominates. */
  static final int H2_REQUESTS_PER_HANDSHAKE = 4;

  private static List<HttpPeer> h2cPeers() {
    return List.of(new KeelsonPeer(), new NginxPeer(true), new HaproxyPeer(true));
  }

  /** Scenarios whose own harness takes turns between its subjects (the packet path). */
  static List<BatchScenario> batches(Path keelsonHome) {
    return List.of(new PacketPathScenario(keelsonHome), new PacketPathScenario(keelsonHome, true));
  }

  /** Scenarios --quick leaves out unless named: too long for its two minutes. */
  static final java.util.Set<String> NOT_IN_QUICK = java.util.Set.of("packet", "packet-hugepages", "http1-keepalive-observed",
      "http1-keepalive-traced-all", "http1-keepalive-observability", "tls-handshake", "h2c-keepalive",
      "h2-tls-multiplexed", "h2-tls-handshake", "two-hop-plaintext", "two-hop-mtls", "two-hop-mtls-turns");

  /** Every peer any built-in scenario compares. */
  static List<String> peerNames() {
    return builtIn(Path.of(".")).stream().flatMap(s -> s.peers().stream()).distinct().toList();
  }

  static List<String> names() {
    List<String> names = new java.util.ArrayList<>(builtIn(Path.of(".")).stream().map(Scenario::name).toList());
    batches(Path.of(".")).forEach(b -> names.add(b.name()));
    return names;
  }
}
