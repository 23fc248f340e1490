package io.keelson.dataplane.filter.compressor;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.compression.gzip.compressor.v3.Gzip;
import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor;
import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorPerRoute;
import io.keelson.dataplane.filter.CompressionLibrary;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.zip.Deflater;

/**
 * {@code envoy.filters.http.compressor} with the gzip library ({@code envoy.compression.gzip.compressor.v3.Gzip}) on
 * {@link Deflater}: response compression as Envoy decides it ({@link GzipResponseCoding}), per-route
 * {@code CompressorPerRoute} (disabled, or remove_accept_encoding_header overridden). Refused by field: other
 * libraries (brotli, zstd), request compression, and the zlib knobs Deflater does not expose (a memory_level other
 * than 8, a window_bits other than 15: Deflater always uses zlib's defaults) or the RLE and FIXED strategies.
 * Stateless.
 */
public final class CompressorFilterFactory implements HttpFilterFactory {
  /** A route's CompressorPerRoute {@code disabled: true}. */
  private static final Object DISABLED = new Object();
  private static final HttpFilter OFF = context -> { };

  /** A route's {@code overrides}: remove_accept_encoding_header when set, else null. */
  private record Overrides(Boolean removeAcceptEncoding) {}

  @Override
  public String filterName() {
    return "envoy.filters.http.compressor";
  }

  @Override
  public Class<? extends Message> configType() {
    return Compressor.class;
  }

  @Override
  public Class<? extends Message> perRouteConfigType() {
    return CompressorPerRoute.class;
  }

  @Override
  public Object translate(Message message, String path, ConfigErrors errors) {
    Compressor c = (Compressor) message;
    boolean ok = true;
    var request = c.getRequestDirectionConfig().getCommonConfig();
    if (c.hasRequestDirectionConfig() && CompressionLibrary.enabled(request.hasEnabled(), request.getEnabled())) {
      errors.error(path + ".request_direction_config", "request compression is not supported; expected no"
          + " request_direction_config, or its common_config.enabled.default_value: false");
      ok = false;
    }
    Gzip gzip = CompressionLibrary.unpack(c.hasCompressorLibrary(), c.getCompressorLibrary(), Gzip.class,
        path + ".compressor_library", "compresses with", errors);
    if (gzip == null) {
      return null;
    }
    String lib = path + ".compressor_library.typed_config";
    if (gzip.hasMemoryLevel() && gzip.getMemoryLevel().getValue() != 8) {
      errors.error(lib + ".memory_level", "java.util.zip.Deflater always uses zlib's memory level 8; expected 8 or unset, got "
          + gzip.getMemoryLevel().getValue());
      ok = false;
    }
    if (gzip.hasWindowBits() && gzip.getWindowBits().getValue() != 15) {
      errors.error(lib + ".window_bits", "java.util.zip.Deflater always uses a 15-bit window; expected 15 or unset, got "
          + gzip.getWindowBits().getValue());
      ok = false;
    }
    int chunkSize = gzip.hasChunkSize() ? gzip.getChunkSize().getValue() : 4096;
    if (chunkSize < 4096 || chunkSize > 65536) {
      errors.error(lib + ".chunk_size", "expected 4096 to 65536, got " + chunkSize);
      ok = false;
    }
    int strategy = switch (gzip.getCompressionStrategy()) {
      case DEFAULT_STRATEGY -> Deflater.DEFAULT_STRATEGY;
      case FILTERED -> Deflater.FILTERED;
      case HUFFMAN_ONLY -> Deflater.HUFFMAN_ONLY;
      default -> -1;
    };
    if (strategy < 0) {
      errors.error(lib + ".compression_strategy", gzip.getCompressionStrategy() + " is not supported by java.util.zip.Deflater;"
          + " expected DEFAULT_STRATEGY, FILTERED or HUFFMAN_ONLY");
      ok = false;
    }
    int levelNumber = gzip.getCompressionLevelValue();
    int level = levelNumber == 0 ? Deflater.DEFAULT_COMPRESSION : levelNumber;
    boolean response = c.hasResponseDirectionConfig();
    var rd = c.getResponseDirectionConfig();
    var common = rd.getCommonConfig();
    boolean enabled = response ? CompressionLibrary.enabled(common.hasEnabled(), common.getEnabled())
        : CompressionLibrary.enabled(c.hasRuntimeEnabled(), c.getRuntimeEnabled());
    int minLength = response ? (common.hasMinContentLength() ? common.getMinContentLength().getValue() : 0)
        : (c.hasContentLength() ? c.getContentLength().getValue() : 0);
    List<String> types = response ? common.getContentTypeList() : c.getContentTypeList();
    Set<Integer> codes = new HashSet<>();
    for (int i = 0; i < rd.getUncompressibleResponseCodesCount(); i++) {
      int code = rd.getUncompressibleResponseCodes(i);
      if (code < 200 || code >= 600 || !codes.add(code)) {
        errors.error(path + ".response_direction_config.uncompressible_response_codes[" + i + "]",
            "expected a unique status code from 200 to 599, got " + code);
        ok = false;
      }
    }
    if (!ok) {
      return null;
    }
    return new CompressorSettings(enabled, minLength > 0 ? minLength : 30,
        types.isEmpty() ? CompressorSettings.DEFAULT_CONTENT_TYPES : Set.copyOf(types.stream().map(t -> t.toLowerCase(Locale.ROOT)).toList()),
        response ? rd.getDisableOnEtagHeader() : c.getDisableOnEtagHeader(),
        response ? rd.getRemoveAcceptEncodingHeader() : c.getRemoveAcceptEncodingHeader(), Set.copyOf(codes), level, strategy,
        chunkSize, c.getCompressorLibrary().getName(), response);
  }

  @Override
  public Object translatePerRoute(Message message, String path, ConfigErrors errors) {
    CompressorPerRoute p = (CompressorPerRoute) message;
    if (p.getDisabled()) {
      return DISABLED;
    }
    if (!p.hasOverrides()) {
      errors.error(path, "expected disabled: true or overrides");
      return null;
    }
    var rd = p.getOverrides().getResponseDirectionConfig();
    return new Overrides(rd.hasRemoveAcceptEncodingHeader() ? rd.getRemoveAcceptEncodingHeader().getValue() : null);
  }

  @Override
  public HttpFilter createOverride(Object listenerSettings, Object settings, FilterResources resources) {
    if (settings == DISABLED) {
      return OFF;
    }
    CompressorSettings base = (CompressorSettings) listenerSettings;
    Boolean remove = ((Overrides) settings).removeAcceptEncoding();
    return create(remove == null ? base : base.withRemoveAcceptEncoding(remove), resources);
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    CompressorSettings s = (CompressorSettings) settings;
    return new CompressorFilter(new CompressorConfig(s, CompressorStats.of(resources, s.libraryName(), s.responseDirection())));
  }
}
