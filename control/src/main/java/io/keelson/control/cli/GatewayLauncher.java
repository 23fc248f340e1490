package io.keelson.control.cli;

/** Hands {@code bin/keelson gateway} to the data plane's gateway command. */
final class GatewayLauncher {
  private GatewayLauncher() {}

  static int run(String[] argv) {
    return io.keelson.dataplane.gateway.GatewayCommand.run(argv);
  }
}
