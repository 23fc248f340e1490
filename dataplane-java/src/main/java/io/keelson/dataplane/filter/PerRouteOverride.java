package io.keelson.dataplane.filter;

import java.util.function.Supplier;

/**
 * Envoy's per-route messages of the shape {@code oneof override { bool disabled = 1; Config config = 2; }}
 * (BufferPerRoute, StatefulSessionPerRoute): {@link #DISABLED}, the config's own translation, or an error. Stateless.
 */
public final class PerRouteOverride {
  /** The settings of a route that disables the filter: it does nothing there. */
  public static final Object DISABLED = new Object();

  private PerRouteOverride() {}

  /**
   * @param overrideCase the message's {@code getOverrideCase().name()}
   * @param configField  the config's field name, e.g. {@code buffer}
   * @param config       translates the config (at {@code path.configField})
   */
  public static Object translate(String overrideCase, boolean disabled, String configField, Supplier<Object> config,
      String path, ConfigErrors errors) {
    switch (overrideCase) {
      case "DISABLED" -> {
        if (!disabled) {
          errors.error(path + ".disabled", "expected true (Envoy accepts only true)");
          return null;
        }
        return DISABLED;
      }
      case "OVERRIDE_NOT_SET" -> {
        errors.error(path, "expected disabled: true or " + configField + " (Envoy requires one)");
        return null;
      }
      default -> {
        return config.get();
      }
    }
  }
}
