package io.keelson.dataplane.filter.compressor;

import java.util.Set;

/**
 * A compressor filter's translated config, before stats are bound (see {@link CompressorConfig}). Immutable.
 *
 * @param enabled              response_direction_config.common_config.enabled's default_value (true when unset)
 * @param minLength            min_content_length (Envoy's 30 when unset or 0)
 * @param contentTypes         lower-case media types compressed (Envoy's default list when none given)
 * @param uncompressibleStatus response codes never compressed
 * @param level                Deflater level (-1: zlib's default)
 * @param strategy             Deflater strategy
 * @param chunkSize            output buffer step (chunk_size, 4096 by default)
 * @param libraryName          compressor_library.name, for stat names
 * @param responseDirection    response_direction_config was given (stats under {@code response.})
 * @param request              request_direction_config when enabled (request bodies gzipped), else null
 */
record CompressorSettings(boolean enabled, int minLength, Set<String> contentTypes, boolean disableOnEtag,
    boolean removeAcceptEncoding, Set<Integer> uncompressibleStatus, int level, int strategy, int chunkSize,
    String libraryName, boolean responseDirection, RequestCompression request) {

  /**
   * request_direction_config's common_config: request bodies of at least {@code minLength} bytes (Envoy's 30 when
   * unset or 0) and of one of {@code contentTypes} (lower-case; Envoy's default list when none given) are gzipped.
   */
  record RequestCompression(int minLength, Set<String> contentTypes) {}

  /** Envoy's default content types (compressor.cc {@code defaultContentEncoding}). */
  static final Set<String> DEFAULT_CONTENT_TYPES = Set.of("text/html", "text/plain", "text/css", "application/javascript",
      "application/x-javascript", "text/javascript", "text/x-javascript", "text/ecmascript", "text/js", "text/jscript",
      "text/x-js", "application/ecmascript", "application/x-json", "application/xml", "application/json",
      "image/svg+xml", "text/xml", "application/xhtml+xml");

  CompressorSettings withRemoveAcceptEncoding(boolean remove) {
    return new CompressorSettings(enabled, minLength, contentTypes, disableOnEtag, remove, uncompressibleStatus, level,
        strategy, chunkSize, libraryName, responseDirection, request);
  }
}
