package io.keelson.control.cli;

import com.fasterxml.jackson.databind.JsonNode;

/** Test access to the package-private apply summary, and to running a command in this JVM. */
public final class ClientCommandsAccess {
  private ClientCommandsAccess() {}

  public static String summary(JsonNode applyResponse, boolean dryRun) {
    return ClientCommands.summary(applyResponse, dryRun);
  }

  /** Runs {@code bin/keelson ARGV} in this JVM: {exit code, standard output, standard error}. */
  public static String[] run(String... argv) {
    CliRun.Result r = CliRun.cli(argv);
    return new String[] {String.valueOf(r.code()), r.out(), r.err()};
  }
}
