package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.ProxyServer;
import io.keelson.dataplane.transport.Transport;
import java.nio.file.Path;

/**
 * The proxy as {@link InterceptionNetnsTest} runs it inside its network namespace (a Java thread cannot enter one):
 * {@code InterceptProxyMain <bootstrap.yaml> <transport>}; prints {@code READY <listeners>} once bound, or
 * {@code FAILED <message>} and exits 2. Runs until killed. An LDS-style update: when {@code <bootstrap.yaml>.update}
 * appears, its snapshot is installed (as an xDS update is) and the file renamed to {@code .applied}; prints
 * {@code UPDATED} or {@code UPDATE FAILED <message>}.
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
    Path update = Path.of(args[0] + ".update");
    while (true) {
      Thread.sleep(50); // a test harness: polls for the update file
      if (java.nio.file.Files.exists(update)) {
        try {
          server.install(BootstrapLoader.load(update));
          System.out.println("UPDATED " + server.boundListeners());
        } catch (Exception e) {
          System.out.println("UPDATE FAILED " + e.getMessage());
        }
        System.out.flush();
        java.nio.file.Files.move(update, Path.of(args[0] + ".applied"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
  }
}
