package io.keelson.dataplane.filter;

import java.util.ArrayList;
import java.util.List;

/** {@link ConfigErrors} that keeps what a factory reported, for tests: errors and warnings as {@code path: message}. */
public final class RecordedConfigErrors implements ConfigErrors {
  public final List<String> errors = new ArrayList<>();
  public final List<String> warnings = new ArrayList<>();

  @Override
  public void error(String path, String message) {
    errors.add(path + ": " + message);
  }

  @Override
  public void warn(String path, String message) {
    warnings.add(path + ": " + message);
  }

  /** The paths of the errors, in order. */
  public List<String> errorPaths() {
    return errors.stream().map(e -> e.substring(0, e.indexOf(": "))).toList();
  }
}
