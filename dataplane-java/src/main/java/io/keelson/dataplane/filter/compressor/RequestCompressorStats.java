package io.keelson.dataplane.filter.compressor;

import io.keelson.dataplane.filter.FilterResources;
import java.util.concurrent.atomic.LongAdder;

/**
 * A compressor filter's request counters, in Envoy's names under
 * {@code http.<stat_prefix>.compressor.<library name>.gzip.request.}. Thread-safe.
 */
record RequestCompressorStats(LongAdder compressed, LongAdder notCompressed, LongAdder totalUncompressedBytes,
    LongAdder totalCompressedBytes, LongAdder contentLengthTooSmall) {

  static RequestCompressorStats of(FilterResources r, String libraryName) {
    String p = "http." + r.statPrefix() + ".compressor." + libraryName + ".gzip.request.";
    var s = r.stats();
    return new RequestCompressorStats(s.counter(p + "compressed"), s.counter(p + "not_compressed"),
        s.counter(p + "total_uncompressed_bytes"), s.counter(p + "total_compressed_bytes"),
        s.counter(p + "content_length_too_small"));
  }
}
