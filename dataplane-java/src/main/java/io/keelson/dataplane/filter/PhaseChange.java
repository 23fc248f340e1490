package io.keelson.dataplane.filter;

/**
 * A change to which later phases of an exchange a filter checks, decided by a check's answer (ext_proc's
 * {@code mode_override}): the connection applies it to its {@link FilterContext} when the answer allows the exchange
 * on, before it takes the phases it sets or clears. Immutable; applied on the connection's event loop.
 */
@FunctionalInterface
public interface PhaseChange {
  void apply(FilterContext policy);
}
