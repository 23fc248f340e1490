package io.keelson.control.policy;

import java.util.List;
import java.util.stream.Collectors;

/** A set of documents was rejected as a whole; carries every problem found. Immutable. */
public final class PolicyException extends Exception {
  private final List<PolicyError> errors;

  public PolicyException(List<PolicyError> errors) {
    super(errors.stream().map(PolicyError::toString).collect(Collectors.joining("\n")), null, false, false);
    this.errors = List.copyOf(errors);
  }

  public List<PolicyError> errors() {
    return errors;
  }
}
