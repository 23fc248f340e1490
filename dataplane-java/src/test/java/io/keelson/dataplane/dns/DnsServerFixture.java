package io.keelson.dataplane.dns;

import io.keelson.dataplane.stats.StatsRegistry;
import java.net.DatagramSocket;
import org.junit.jupiter.api.AfterEach;

/**
 * What the socket-level {@link DnsServer} tests share: the server, its in-test upstream resolver, the app's UDP socket
 * (each test starts them its own way), a query over UDP and the stats.
 */
abstract class DnsServerFixture {
  final StatsRegistry stats = new StatsRegistry();
  InTestResolver upstream;
  DnsServer server;
  DatagramSocket app;

  @AfterEach
  void stop() throws Exception {
    app.close();
    server.close();
    upstream.close();
  }

  /** {@code hex} sent from the app's socket; the answer in hex. */
  String udp(String hex) throws Exception {
    return InTestResolver.exchange(app, server.udpAddress(), hex);
  }

  long count(String name) {
    return stats.counter(name).sum();
  }
}
