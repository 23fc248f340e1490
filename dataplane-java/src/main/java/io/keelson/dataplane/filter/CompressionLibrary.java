package io.keelson.dataplane.filter;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.envoyproxy.envoy.config.core.v3.TypedExtensionConfig;

/**
 * What the compressor and decompressor factories share when they read their config: the library's typed_config,
 * gzip only (their {@code enabled} flags are read by {@link FeatureFlags}). Stateless.
 */
public final class CompressionLibrary {
  private CompressionLibrary() {}

  /**
   * The library's config as {@code type}, or null after reporting (at {@code path}) a missing library, another
   * library type ({@code what}: "compresses with", "inflates") or an unreadable one.
   */
  public static <T extends Message> T unpack(boolean present, TypedExtensionConfig library, Class<T> type, String path,
      String what, ConfigErrors errors) {
    String expected = descriptorName(type);
    if (!present || !library.hasTypedConfig()) {
      errors.error(path, "a library is required; expected typed_config " + expected);
      return null;
    }
    Any any = library.getTypedConfig();
    String got = any.getTypeUrl().substring(any.getTypeUrl().lastIndexOf('/') + 1);
    if (!got.equals(expected)) {
      errors.error(path + ".typed_config", "library " + got + " is not supported: Keelson " + what + " gzip only"
          + " (java.util.zip); expected " + expected);
      return null;
    }
    try {
      return any.unpack(type);
    } catch (InvalidProtocolBufferException e) {
      errors.error(path + ".typed_config", "cannot read " + expected + ": " + e.getMessage());
      return null;
    }
  }

  private static String descriptorName(Class<? extends Message> type) {
    return HttpFilterFactories.descriptorName(type);
  }
}
