package io.keelson.dataplane.filter.compressor;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.compression.gzip.compressor.v3.Gzip;
import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.Compressor;
import io.envoyproxy.envoy.extensions.filters.http.compressor.v3.CompressorPerRoute;
import io.keelson.dataplane.filter.CompressionLibrary;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FeatureFlags;
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
 * {@link Deflater}: response compression as Envoy decides it ({@link GzipResponseCoding}), request compression
 * ({@link GzipRequestCoding}), per-route {@code CompressorPerRoute} (disabled, or remove_accept_encoding_header
 * overridden). memory_level and window_bits are range-checked as Envoy's proto does and otherwise not applied
 * (Deflater always uses zlib's defaults, 8 and 15: warned). Refused by field: other libraries (brotli, zstd) and the
 * RLE and FIXED strategies.
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
    Boolean requestEnabled = !c.hasRequestDirectionConfig() ? Boolean.FALSE : FeatureFlags.enabled(request.hasEnabled(),
        request.getEnabled(), path + ".request_direction_config.common_config.enabled", errors);
    Gzip gzip = CompressionLibrary.unpack(c.hasCompressorLibrary(), c.getCompressorLibrary(), Gzip.class,
        path + ".compressor_library", "compresses with", errors);
    if (gzip == null || requestEnabled == null) {
      return null;
    }
    String lib = path + ".compressor_library.typed_config";
    ok &= zlibDefault(gzip.hasMemoryLevel(), gzip.getMemoryLevel().getValue(), 1, 9, 8, lib + ".memory_level", errors);
    ok &= zlibDefault(gzip.hasWindowBits(), gzip.getWindowBits().getValue(), 9, 15, 15, lib + ".window_bits", errors);
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
    Boolean enabled = response
        ? FeatureFlags.enabled(common.hasEnabled(), common.getEnabled(), path + ".response_direction_config.common_config.enabled", errors)
        : FeatureFlags.enabled(c.hasRuntimeEnabled(), c.getRuntimeEnabled(), path + ".runtime_enabled", errors);
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
    if (!ok || enabled == null) {
      return null;
    }
    return new CompressorSettings(enabled, minLength > 0 ? minLength : 30, contentTypes(types),
        response ? rd.getDisableOnEtagHeader() : c.getDisableOnEtagHeader(),
        response ? rd.getRemoveAcceptEncodingHeader() : c.getRemoveAcceptEncodingHeader(), Set.copyOf(codes), level, strategy,
        chunkSize, c.getCompressorLibrary().getName(), response, !requestEnabled ? null
            : new CompressorSettings.RequestCompression(request.hasMinContentLength() && request.getMinContentLength().getValue() > 0
                ? request.getMinContentLength().getValue() : 30, contentTypes(request.getContentTypeList())));
  }

  /** The lower-cased media types, or Envoy's default list when none are given. */
  private static Set<String> contentTypes(List<String> types) {
    return types.isEmpty() ? CompressorSettings.DEFAULT_CONTENT_TYPES
        : Set.copyOf(types.stream().map(t -> t.toLowerCase(Locale.ROOT)).toList());
  }

  /**
   * A zlib knob Deflater cannot set (memory_level, window_bits): within Envoy's range {@code min..max} it is accepted
   * with a warning that zlib's default {@code used} applies (any gzip decoder reads what that writes); outside, refused.
   */
  private static boolean zlibDefault(boolean set, int value, int min, int max, int used, String path, ConfigErrors errors) {
    if (!set) {
      return true;
    }
    if (value < min || value > max) {
      errors.error(path, "expected " + min + " to " + max + ", got " + value);
      return false;
    }
    if (value != used) {
      errors.warn(path, value + " is not applied: java.util.zip.Deflater compresses with zlib's default " + used);
    }
    return true;
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
  public boolean codesRequestBodies(Object settings) {
    return ((CompressorSettings) settings).request() != null;
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    CompressorSettings s = (CompressorSettings) settings;
    return new CompressorFilter(new CompressorConfig(s, CompressorStats.of(resources, s.libraryName(), s.responseDirection()),
        s.request() == null ? null : RequestCompressorStats.of(resources, s.libraryName())));
  }
}
