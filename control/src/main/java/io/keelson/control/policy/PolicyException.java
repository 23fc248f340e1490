package io.keelson.control.policy;

import java.util.List;
import java.util.stream.Collectors;

/** A set of documents was rejected as a whole; carries every problem found. Immutable. */
public final class PolicyException extends Exception {
  private final List<PolicyError> errors;
  private final boolean retryable;

  public PolicyException(List<PolicyError> errors) {
    this(errors, false);
  }

  /** @param retryable the documents were fine but a shared store could not take them now (see {@link #retryable}) */
  public PolicyException(List<PolicyError> errors, boolean retryable) {
    super(errors.stream().map(PolicyError::toString).collect(Collectors.joining("\n")), null, false, false);
    this.errors = List.copyOf(errors);
    this.retryable = retryable;
  }

  /** True when nothing is wrong with the documents: the store (etcd) was unavailable or kept changing; try again. */
  public boolean retryable() {
    return retryable;
  }

  public List<PolicyError> errors() {
    return errors;
  }
}
