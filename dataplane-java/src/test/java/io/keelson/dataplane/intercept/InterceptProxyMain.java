package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.transport.Transport;
import java.nio.file.Path;

/**
 * The proxy as {@link InterceptionNetnsTest} runs it inside its network namespace (a Java thread cannot enter one):
 * {@code InterceptProxyMain <bootstrap.yaml> <transport>}; prints {@code READY <listeners>} once bound, or
 * {@code FAILED <message>} and exits 2. Runs until killed.
 */
public final class InterceptProxyMain {
  private InterceptProxyMain() {}

  public static void main(String[] args) throws Exception {
    ProxyServer server;
    try {
      var snapshot = BootstrapLoader.load(Path.of(args[0]));
      var options = ProxyOptions.defaults().withTransport(Transport.select(args[1])).withConcurrency(1).withAdmin(null, 0);
      server = new ProxyServer(snapshot, options).start();
    } catch (Exception e) {
      System.out.println("FAILED " + e.getMessage());
      System.out.flush();
      System.exit(2);
      return;
    }
    System.out.println("READY " + server.boundListeners());
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
