package io.keelson.dataplane.filter;

/**
 * Called once when an exchange a filter acted on ends, whatever its outcome (for example to release
 * the fault filter's active-fault slot). Implementations are shared, pre-allocated and thread-safe.
 */
@FunctionalInterface
public interface ExchangeEndHook {
  void onExchangeEnd();
}
