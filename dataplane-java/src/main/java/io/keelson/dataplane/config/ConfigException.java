package io.keelson.dataplane.config;

import java.util.List;

/**
 * A config was rejected. Each problem is one line naming the source, the field path and what was
 * expected, e.g. {@code config.yaml: static_resources.clusters[2].lb_policy: ...}. Immutable.
 */
public class ConfigException extends Exception {
  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  public ConfigException(String problem) {
    this(List.of(problem));
  }

  public ConfigException(String problem, Throwable cause) {
    super(problem, cause);
    this.problems = List.of(problem);
  }

  /** Every problem found, one line each (the message is these joined by newlines). */
  public List<String> problems() {
    return problems;
  }
}
