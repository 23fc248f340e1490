package io.keelson.control.cli;

import com.fasterxml.jackson.databind.JsonNode;

/** Test access to the package-private apply summary. */
public final class ClientCommandsAccess {
  private ClientCommandsAccess() {}

  public static String summary(JsonNode applyResponse, boolean dryRun) {
    return ClientCommands.summary(applyResponse, dryRun);
  }
}
