package io.keelson.dataplane.filter.compressor;

import io.keelson.dataplane.edge.HeaderAccess;
import io.keelson.dataplane.filter.BodyStage;
import io.keelson.dataplane.filter.RequestCoding;
import io.keelson.dataplane.filter.ResponseCoding;

/**
 * The compressor's request half (compressor.cc {@code decodeHeaders}): a request body is gzipped toward the upstream
 * when its length is unknown or at least min_content_length, its content-type is in the list (or absent), it has no
 * content-encoding, no gzip/deflate transfer-encoding and is not an upgrade; then content-length goes and
 * {@code content-encoding: gzip} is set. One per filter config, so a request allocates nothing but its body stage.
 * Immutable; thread-safe.
 */
final class GzipRequestCoding implements RequestCoding {
  private final CompressorConfig config;

  GzipRequestCoding(CompressorConfig config) {
    this.config = config;
  }

  @Override
  public <H> BodyStage onRequestHead(HeaderAccess<H> access, H headers) {
    CompressorSettings.RequestCompression r = config.settings().request();
    RequestCompressorStats stats = config.requestStats();
    String te = access.getAll(headers, "transfer-encoding");
    boolean compressible = GzipResponseCoding.longEnough(access, headers, r.minLength(), stats.contentLengthTooSmall())
        && GzipResponseCoding.contentTypeAllowed(r.contentTypes(), access.getAll(headers, "content-type"))
        && !access.contains(headers, "content-encoding") && !access.contains(headers, "upgrade")
        && !ResponseCoding.listContains(te, "gzip") && !ResponseCoding.listContains(te, "deflate");
    if (!compressible) {
      stats.notCompressed().increment();
      return null;
    }
    access.remove(headers, "content-length");
    access.set(headers, "content-encoding", "gzip");
    stats.compressed().increment();
    return new GzipDeflate(config, stats.totalUncompressedBytes(), stats.totalCompressedBytes());
  }
}
