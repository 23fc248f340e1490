package io.keelson.dataplane.filter.compressor;

import static io.keelson.dataplane.filter.HttpFilterConfigTest.load;
import static io.keelson.dataplane.filter.HttpFilterConfigTest.problems;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.ProxySnapshot;
import java.util.Set;
import java.util.zip.Deflater;
import org.junit.jupiter.api.Test;

/** The compressor and decompressor configs as Envoy reads them, and what Keelson refuses, named by field path. */
class CompressionConfigTest {
  private static final String AT = "f.yaml: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[0]"
      + ".typed_config";
  private static String compressor(String fields, String gzip) {
    return """
                - name: envoy.filters.http.compressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor
      %s
                    compressor_library:
                      name: gz
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip
      %s
      """.formatted(fields.stripTrailing(), gzip.stripTrailing()).replace("\n\n", "\n");
  }

  @Test
  void readsEnvoysResponseSettingsAndTheDeprecatedTopLevelOnes() throws Exception {
    ProxySnapshot s = load(compressor("""
                    response_direction_config:
                      common_config:
                        min_content_length: 500
                        content_type: [ "Application/JSON" ]
                        enabled: { default_value: true, runtime_key: k }
                      disable_on_etag_header: true
                      remove_accept_encoding_header: true
                      uncompressible_response_codes: [ 206 ]
                    request_direction_config:
                      common_config:
                        enabled: { default_value: false, runtime_key: r }
      """, """
                        compression_level: COMPRESSION_LEVEL_3
                        compression_strategy: HUFFMAN_ONLY
                        memory_level: 8
                        window_bits: 15
                        chunk_size: 16384
      """));
    assertThat(s.listeners().getFirst().http().httpFilters().getFirst().settings()).isEqualTo(new CompressorSettings(true, 500,
        Set.of("application/json"), true, true, Set.of(206), 3, Deflater.HUFFMAN_ONLY, 16384, "gz", true, null));
    ProxySnapshot legacy = load(compressor("""
                    content_length: 40
                    disable_on_etag_header: true
      """, ""));
    assertThat(legacy.listeners().getFirst().http().httpFilters().getFirst().settings()).isEqualTo(new CompressorSettings(true, 40,
        CompressorSettings.DEFAULT_CONTENT_TYPES, true, false, Set.of(), Deflater.DEFAULT_COMPRESSION, Deflater.DEFAULT_STRATEGY,
        4096, "gz", false, null));
  }

  @Test
  void acceptsEnvoysDocumentedExampleWarningThatZlibsDefaultsApply() throws Exception {
    ProxySnapshot s = load("""
                - name: envoy.filters.http.compressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor
                    disable_on_etag_header: true
                    content_length: 100
                    content_type:
                      - text/html
                      - application/json
                    compressor_library:
                      name: text_optimized
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.compression.gzip.compressor.v3.Gzip
                        memory_level: 3
                        window_bits: 10
                        compression_level: BEST_COMPRESSION
                        compression_strategy: DEFAULT_STRATEGY
      """);
    assertThat(s.warnings()).containsExactlyInAnyOrder(
        AT + ".compressor_library.typed_config.memory_level: 3 is not applied: java.util.zip.Deflater compresses with"
            + " zlib's default 8",
        AT + ".compressor_library.typed_config.window_bits: 10 is not applied: java.util.zip.Deflater compresses with"
            + " zlib's default 15");
    assertThat(((CompressorSettings) s.listeners().getFirst().http().httpFilters().getFirst().settings()).level())
        .isEqualTo(Deflater.BEST_COMPRESSION);
  }

  @Test
  void refusesZlibKnobsOutsideEnvoysRangesAndStrategiesDeflaterLacks() {
    assertThat(problems(compressor("", """
                        memory_level: 10
                        window_bits: 8
                        compression_strategy: RLE
      """))).containsExactlyInAnyOrder(
        AT + ".compressor_library.typed_config.memory_level: expected 1 to 9, got 10",
        AT + ".compressor_library.typed_config.window_bits: expected 9 to 15, got 8",
        AT + ".compressor_library.typed_config.compression_strategy: RLE is not supported by java.util.zip.Deflater;"
            + " expected DEFAULT_STRATEGY, FILTERED or HUFFMAN_ONLY");
  }

  @Test
  void readsRequestCompressionAndRefusesOtherLibraries() throws Exception {
    ProxySnapshot s = load(compressor("""
                    request_direction_config:
                      common_config:
                        min_content_length: 1000
                        content_type: [ "Text/Plain" ]
      """, ""));
    assertThat(((CompressorSettings) s.listeners().getFirst().http().httpFilters().getFirst().settings()).request())
        .isEqualTo(new CompressorSettings.RequestCompression(1000, Set.of("text/plain")));
    ProxySnapshot defaults = load(compressor("""
                    request_direction_config: {}
      """, ""));
    assertThat(((CompressorSettings) defaults.listeners().getFirst().http().httpFilters().getFirst().settings()).request())
        .isEqualTo(new CompressorSettings.RequestCompression(30, CompressorSettings.DEFAULT_CONTENT_TYPES));
    assertThat(problems("""
                - name: envoy.filters.http.compressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.compressor.v3.Compressor
                    compressor_library:
                      name: br
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.compression.brotli.compressor.v3.Brotli
      """)).contains(AT + ".compressor_library.typed_config: library"
        + " envoy.extensions.compression.brotli.compressor.v3.Brotli is not supported: Keelson compresses with gzip only"
        + " (java.util.zip); expected envoy.extensions.compression.gzip.compressor.v3.Gzip");
  }

  @Test
  void aFeatureFlagNeedsItsDefaultValueAndItsRuntimeKeyIsWarned() throws Exception {
    assertThat(problems(compressor("""
                    response_direction_config:
                      common_config:
                        enabled: { runtime_key: k }
      """, ""))).containsExactly(AT + ".response_direction_config.common_config.enabled.default_value: a default_value is"
        + " required (Envoy requires it too)");
    assertThat(load(compressor("""
                    request_direction_config:
                      common_config:
                        enabled: { default_value: false, runtime_key: r }
      """, "")).warnings()).containsExactly(AT + ".request_direction_config.common_config.enabled.runtime_key: ignored:"
        + " Keelson has no runtime; default_value applies");
  }

  @Test
  void theDecompressorsDefaultConfigIsAcceptedWithRequestDecompressionOn() throws Exception {
    String library = """
                    decompressor_library:
                      name: d
                      typed_config:
                        "@type": type.googleapis.com/envoy.extensions.compression.%s.decompressor.v3.%s
      """;
    String filter = """
                - name: envoy.filters.http.decompressor
                  typed_config:
                    "@type": type.googleapis.com/envoy.extensions.filters.http.decompressor.v3.Decompressor
      """;
    Object settings = load(filter + library.formatted("gzip", "Gzip")).listeners().getFirst().http().httpFilters().getFirst()
        .settings();
    assertThat(settings).hasToString("DecompressorSettings[enabled=true, ignoreNoTransform=false, advertise=true,"
        + " chunkSize=4096, maxInflateRatio=100, libraryName=d, requestEnabled=true, requestIgnoreNoTransform=false]");
    String off = """
                    request_direction_config:
                      common_config: { enabled: { default_value: false } }
                      advertise_accept_encoding: false
      """;
    assertThat(load(filter + off + library.formatted("gzip", "Gzip")).listeners().getFirst().http().httpFilters().getFirst()
        .settings().toString()).contains("requestEnabled=false");
    assertThat(problems(filter + off + library.formatted("zstd", "Zstd"))).contains(AT + ".decompressor_library.typed_config:"
        + " library envoy.extensions.compression.zstd.decompressor.v3.Zstd is not supported: Keelson inflates"
        + " gzip only (java.util.zip); expected envoy.extensions.compression.gzip.decompressor.v3.Gzip");
  }
}
