package io.keelson.dataplane.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.dataplane.internal.ffm.Dpdk;
import io.keelson.testkit.Shell;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import java.util.function.IntFunction;

/** What the network-namespace gateway tests (IPv4 and IPv6) need from the machine, and the checks they share. */
final class GatewayNetnsTestSupport {
  private GatewayNetnsTestSupport() {}

  /** Why the namespace tests cannot run here, or null when they can. */
  static String skipReason() {
    if (!"root".equals(System.getProperty("user.name"))) {
      return "needs root (network namespaces, af_packet)";
    }
    if (!Dpdk.isAvailable()) {
      return "DPDK unavailable: " + Dpdk.unavailabilityCause();
    }
    for (String tool : List.of("ip", "ethtool", "curl", "python3")) {
      if (!Shell.onPath(tool)) {
        return tool + " is not installed (bin/lib/test-packages.txt lists it)";
      }
    }
    return null;
  }

  /** One HTTP/1.1 connection: a GET now, then one more per "next" line on stdin; prints each body. */
  private static final String KEEPALIVE_CLIENT = """
      import http.client, sys
      c = http.client.HTTPConnection(sys.argv[1], 80, timeout=5)
      while True:
          c.request("GET", "/who.txt")
          print(c.getresponse().read().decode().strip(), flush=True)
          if sys.stdin.readline().strip() != "next":
              break
      """;

  /**
   * A kept-alive connection to {@code vip} stays on its backend after {@code removeBackend} takes that backend
   * (its index in {@link NetnsTopology#NAMES}) out of the config, while the new flows {@code curl} opens (by
   * local port offset) go to the other.
   */
  static void assertEstablishedFlowSurvivesRemoval(NetnsTopology topo, GatewayProcess gw, String vip,
      IntConsumer removeBackend, IntFunction<String> curl) throws IOException, InterruptedException {
    Process client = new ProcessBuilder(Shell.in(topo.client, NetnsTopology.python(), "-u", "-c", KEEPALIVE_CLIENT, vip))
        .redirectErrorStream(true).start();
    try (BufferedReader lines = new BufferedReader(new InputStreamReader(client.getInputStream(), StandardCharsets.UTF_8));
        Writer commands = new OutputStreamWriter(client.getOutputStream(), StandardCharsets.UTF_8)) {
      String first = lines.readLine();
      assertThat(first).as("first answer on the kept-alive connection").isIn((Object[]) NetnsTopology.NAMES);
      int index = List.of(NetnsTopology.NAMES).indexOf(first);
      String other = NetnsTopology.NAMES[1 - index];
      removeBackend.accept(index); // the gateway re-reads its config file
      await("config reloaded").atMost(Duration.ofSeconds(10)).until(() -> gw.output().contains("config reloaded"));
      commands.write("next\n");
      commands.flush();
      assertThat(lines.readLine()).as("the established flow keeps its backend").isEqualTo(first);
      for (int i = 0; i < 6; i++) {
        assertThat(curl.apply(i)).as("a new flow goes to the backend that is left").isEqualTo(other);
      }
      commands.write("next\n");
      commands.flush();
      assertThat(lines.readLine()).as("still on its backend after new flows").isEqualTo(first);
    } finally {
      client.destroyForcibly();
      client.waitFor(5, TimeUnit.SECONDS);
    }
  }

  /** Sends {@code copies} of every frame from the client's raw socket; each must be counted under its drop reason. */
  static void assertDropsCounted(NetnsTopology topo, GatewayProcess gw, Map<String, byte[]> framesByReason, int copies) {
    Map<String, Long> before = new HashMap<>();
    framesByReason.keySet().forEach(r -> before.put(r, gw.drops(r)));
    List<String> cmd = new ArrayList<>(List.of(NetnsTopology.python(), "-c",
        "import socket, sys\n"
            + "s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)\n"
            + "s.bind(('c0', 0))\n"
            + "for h in sys.argv[1:]:\n"
            + "    s.send(bytes.fromhex(h))\n"));
    for (byte[] f : framesByReason.values()) {
      for (int i = 0; i < copies; i++) {
        cmd.add(BadFrames.hex(f));
      }
    }
    Shell.okIn(topo.client, cmd.toArray(new String[0]));
    await("every malformed frame counted under its reason").atMost(Duration.ofSeconds(10))
        .pollInterval(Duration.ofMillis(300))
        .untilAsserted(() -> {
          for (String reason : framesByReason.keySet()) {
            assertThat(gw.drops(reason) - before.get(reason)).as(reason).isEqualTo(copies);
          }
        });
  }
}
