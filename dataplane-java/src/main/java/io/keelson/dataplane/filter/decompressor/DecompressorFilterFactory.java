package io.keelson.dataplane.filter.decompressor;

import com.google.protobuf.Message;
import io.envoyproxy.envoy.extensions.compression.gzip.decompressor.v3.Gzip;
import io.envoyproxy.envoy.extensions.filters.http.decompressor.v3.Decompressor;
import io.keelson.dataplane.filter.CompressionLibrary;
import io.keelson.dataplane.filter.ConfigErrors;
import io.keelson.dataplane.filter.FeatureFlags;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.filter.HttpFilterFactory;

/**
 * {@code envoy.filters.http.decompressor} with the gzip library ({@code envoy.compression.gzip.decompressor.v3.Gzip})
 * on {@link java.util.zip.Inflater}, for responses and requests (on by default in both directions, as Envoy's;
 * {@link GzipInflation}). Refused by field: other libraries (brotli, zstd). window_bits is accepted: Inflater
 * reads any window up to 15 bits. Stateless.
 */
public final class DecompressorFilterFactory implements HttpFilterFactory {
  @Override
  public String filterName() {
    return "envoy.filters.http.decompressor";
  }

  @Override
  public Class<? extends Message> configType() {
    return Decompressor.class;
  }

  @Override
  public Object translate(Message message, String path, ConfigErrors errors) {
    Decompressor d = (Decompressor) message;
    boolean ok = true;
    var request = d.getRequestDirectionConfig();
    Boolean requestEnabled = FeatureFlags.enabled(request.getCommonConfig().hasEnabled(), request.getCommonConfig().getEnabled(),
        path + ".request_direction_config.common_config.enabled", errors);
    var response = d.getResponseDirectionConfig();
    var common = response.getCommonConfig();
    Boolean enabled = FeatureFlags.enabled(common.hasEnabled(), common.getEnabled(),
        path + ".response_direction_config.common_config.enabled", errors);
    Gzip gzip = CompressionLibrary.unpack(d.hasDecompressorLibrary(), d.getDecompressorLibrary(), Gzip.class,
        path + ".decompressor_library", "inflates", errors);
    if (gzip == null) {
      return null;
    }
    int chunkSize = gzip.hasChunkSize() ? gzip.getChunkSize().getValue() : 4096;
    if (chunkSize < 4096 || chunkSize > 65536) {
      errors.error(path + ".decompressor_library.typed_config.chunk_size", "expected 4096 to 65536, got " + chunkSize);
      ok = false;
    }
    int ratio = gzip.hasMaxInflateRatio() ? gzip.getMaxInflateRatio().getValue() : 100;
    if (ratio < 1 || ratio > 1032) {
      errors.error(path + ".decompressor_library.typed_config.max_inflate_ratio", "expected 1 to 1032, got " + ratio);
      ok = false;
    }
    if (!ok || enabled == null || requestEnabled == null) {
      return null;
    }
    return new DecompressorSettings(enabled, common.getIgnoreNoTransformHeader(),
        !request.hasAdvertiseAcceptEncoding() || request.getAdvertiseAcceptEncoding().getValue(), chunkSize, ratio,
        d.getDecompressorLibrary().getName(), requestEnabled, request.getCommonConfig().getIgnoreNoTransformHeader());
  }

  @Override
  public boolean codesRequestBodies(Object settings) {
    return ((DecompressorSettings) settings).requestEnabled();
  }

  @Override
  public HttpFilter create(Object settings, FilterResources resources) {
    DecompressorSettings s = (DecompressorSettings) settings;
    return new GzipInflation(new DecompressorConfig(s, DecompressorStats.of(resources, s.libraryName(), "response"),
        DecompressorStats.of(resources, s.libraryName(), "request")));
  }
}
