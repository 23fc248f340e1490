package io.keelson.dataplane.config.envoy;

import io.keelson.dataplane.config.ConfigException;
import java.util.ArrayList;
import java.util.List;

/** Errors and warnings found while reading one config source, each prefixed with the source and field path. Not thread-safe. */
final class Problems implements io.keelson.dataplane.filter.ConfigErrors {
  private final String source;
  private final List<String> errors = new ArrayList<>();
  private final List<String> warnings = new ArrayList<>();
  private final java.util.Set<String> errorPaths = new java.util.HashSet<>();

  Problems(String source) {
    this.source = source;
  }

  String source() {
    return source;
  }

  @Override
  public void error(String path, String message) {
    errors.add(format(path, message));
    errorPaths.add(path);
  }

  /** True when an error was already reported at exactly this path (so a later check need not repeat it). */
  boolean reportedAt(String path) {
    return errorPaths.contains(path);
  }

  @Override
  public void warn(String path, String message) {
    warnings.add(format(path, message));
  }

  private String format(String path, String message) {
    return path.isEmpty() ? source + ": " + message : source + ": " + path + ": " + message;
  }

  /** Errors reported so far (to tell whether a part of the config added any). */
  int count() {
    return errors.size();
  }

  boolean hasErrors() {
    return !errors.isEmpty();
  }

  List<String> warnings() {
    return List.copyOf(warnings);
  }

  void throwIfErrors() throws ConfigException {
    if (!errors.isEmpty()) {
      throw new ConfigException(errors);
    }
  }
}
