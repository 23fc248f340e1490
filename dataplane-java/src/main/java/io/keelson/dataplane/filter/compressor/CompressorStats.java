package io.keelson.dataplane.filter.compressor;

import io.keelson.dataplane.filter.FilterResources;
import java.util.concurrent.atomic.LongAdder;

/**
 * One compressor filter's counters, in Envoy's names: {@code http.<stat_prefix>.compressor.<library name>.gzip.}
 * then {@code response.} when the config has response_direction_config (Envoy's legacy tree without it). Shared by
 * the filter's per-route variants. Thread-safe.
 */
record CompressorStats(LongAdder compressed, LongAdder notCompressed, LongAdder totalUncompressedBytes,
    LongAdder totalCompressedBytes, LongAdder contentLengthTooSmall, LongAdder noAcceptHeader, LongAdder headerIdentity,
    LongAdder headerCompressorUsed, LongAdder headerWildcard, LongAdder headerNotValid, LongAdder notCompressedEtag) {

  static CompressorStats of(FilterResources r, String libraryName, boolean responseDirection) {
    String p = "http." + r.statPrefix() + ".compressor." + libraryName + ".gzip." + (responseDirection ? "response." : "");
    var s = r.stats();
    return new CompressorStats(s.counter(p + "compressed"), s.counter(p + "not_compressed"),
        s.counter(p + "total_uncompressed_bytes"), s.counter(p + "total_compressed_bytes"),
        s.counter(p + "content_length_too_small"), s.counter(p + "no_accept_header"), s.counter(p + "header_identity"),
        s.counter(p + "header_compressor_used"), s.counter(p + "header_wildcard"), s.counter(p + "header_not_valid"),
        s.counter(p + "not_compressed_etag"));
  }

  /** The accept-encoding counter of a decision ({@link AcceptEncoding}). */
  LongAdder header(int decision) {
    return switch (decision) {
      case AcceptEncoding.NO_HEADER -> noAcceptHeader;
      case AcceptEncoding.IDENTITY -> headerIdentity;
      case AcceptEncoding.WILDCARD -> headerWildcard;
      case AcceptEncoding.GZIP -> headerCompressorUsed;
      default -> headerNotValid;
    };
  }
}
