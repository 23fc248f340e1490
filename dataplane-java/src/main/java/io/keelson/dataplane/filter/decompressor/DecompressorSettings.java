package io.keelson.dataplane.filter.decompressor;

/**
 * A decompressor filter's translated config. Immutable.
 *
 * @param enabled          response_direction_config.common_config.enabled's default_value (true when unset)
 * @param ignoreNoTransform inflate even under {@code cache-control: no-transform}
 * @param advertise        request_direction_config.advertise_accept_encoding (true when unset)
 * @param chunkSize        output buffer step
 * @param maxInflateRatio  output bytes allowed per input byte (Envoy's default 100)
 * @param requestEnabled   request_direction_config.common_config.enabled's default_value (true when unset, as Envoy's)
 * @param requestIgnoreNoTransform request bodies inflated even under {@code cache-control: no-transform}
 */
record DecompressorSettings(boolean enabled, boolean ignoreNoTransform, boolean advertise, int chunkSize,
    int maxInflateRatio, String libraryName, boolean requestEnabled, boolean requestIgnoreNoTransform) {}
