package io.keelson.control.cli;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyException;
import java.nio.file.Path;
import java.util.Set;

/** {@code bin/keelson control}: runs the control plane until SIGTERM/SIGINT. Main thread. */
final class ControlCommand {
  static final String HELP = """
      usage: bin/keelson control [--xds-port N] [--api-port N] [--config-dir DIR] [--data-dir DIR]
                                 [--bind ADDR] [--outbound-port N]

      Runs Keelson's control plane: xDS (ADS over gRPC, state of the world and delta) and the HTTP API.
        --xds-port N       xDS port (default 15010; 0 = any free port)
        --api-port N       HTTP API port (default 15014; 0 = any free port)
        --config-dir DIR   apply the *.yaml files of DIR and follow their changes (a bad file is reported
                           and the previous state kept)
        --data-dir DIR     persist applied documents in DIR/state.yaml; reloaded at start
        --bind ADDR        address to listen on (default 127.0.0.1)
        --outbound-port N  port of the outbound listener sent to sidecars (default 15001)
      """;

  private ControlCommand() {}

  static int run(String[] argv) throws Exception {
    if (argv.length > 0 && (argv[0].equals("--help") || argv[0].equals("-h"))) {
      System.out.print(HELP);
      return 0;
    }
    Args a = new Args("control", argv, Set.of("--xds-port", "--api-port", "--config-dir", "--data-dir", "--bind",
        "--outbound-port"), Set.of());
    ControlPlane.Options o = new ControlPlane.Options(a.get("--bind", "127.0.0.1"), a.getInt("--xds-port", 15010),
        a.getInt("--api-port", 15014), a.has("--config-dir") ? Path.of(a.get("--config-dir", null)) : null,
        a.has("--data-dir") ? Path.of(a.get("--data-dir", null)) : null, a.getInt("--outbound-port", 15001));
    java.util.concurrent.CountDownLatch terminate = TerminationSignals.install();
    ControlPlane cp;
    try {
      cp = ControlPlane.start(o);
    } catch (PolicyException e) {
      System.err.println("keelson control: the saved state cannot be loaded:\n" + e.getMessage());
      return 1;
    }
    System.out.println("keelson control: xDS on " + o.bind() + ":" + cp.xds.port() + ", HTTP API on http://" + o.bind()
        + ":" + cp.api.port());
    terminate.await();
    cp.close();
    return 0;
  }
}
