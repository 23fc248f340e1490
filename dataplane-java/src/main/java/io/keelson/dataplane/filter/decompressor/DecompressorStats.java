package io.keelson.dataplane.filter.decompressor;

import io.keelson.dataplane.filter.FilterResources;
import java.util.concurrent.atomic.LongAdder;

/**
 * One decompressor filter's counters of one direction, in Envoy's names under
 * {@code http.<stat_prefix>.decompressor.<library name>.gzip.<request|response>.}; {@code decompression_error} counts bodies
 * refused (corrupt, or past max_inflate_ratio). Thread-safe.
 */
record DecompressorStats(LongAdder decompressed, LongAdder notDecompressed, LongAdder totalCompressedBytes,
    LongAdder totalUncompressedBytes, LongAdder decompressionError) {

  static DecompressorStats of(FilterResources r, String libraryName, String direction) {
    String p = "http." + r.statPrefix() + ".decompressor." + libraryName + ".gzip." + direction + ".";
    var s = r.stats();
    return new DecompressorStats(s.counter(p + "decompressed"), s.counter(p + "not_decompressed"),
        s.counter(p + "total_compressed_bytes"), s.counter(p + "total_uncompressed_bytes"),
        s.counter(p + "decompression_error"));
  }
}
