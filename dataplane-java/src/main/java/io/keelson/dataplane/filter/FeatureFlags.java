package io.keelson.dataplane.filter;

import io.envoyproxy.envoy.config.core.v3.RuntimeFeatureFlag;

/** Envoy's {@code RuntimeFeatureFlag} as Keelson reads it: its default_value (Keelson has no runtime layer). */
public final class FeatureFlags {
  private FeatureFlags() {}

  /**
   * Whether a filter with this {@code runtime_enabled} flag (at {@code path}) runs: true when the flag is unset, else its
   * default_value (required, as Envoy requires it; null after reporting its absence); a runtime_key gets a warning, as
   * nothing can override the default.
   */
  public static Boolean enabled(boolean set, RuntimeFeatureFlag flag, String path, ConfigErrors errors) {
    if (!set) {
      return true;
    }
    if (!flag.hasDefaultValue()) {
      errors.error(path + ".default_value", "a default_value is required (Envoy requires it too)");
      return null;
    }
    if (!flag.getRuntimeKey().isEmpty()) {
      errors.warn(path + ".runtime_key", "ignored: Keelson has no runtime; default_value applies");
    }
    return flag.getDefaultValue().getValue();
  }
}
