package io.keelson.dataplane.filter.compressor;

/**
 * Settings bound to their counters: what a compiled compressor filter and its codings read ({@code requestStats} null
 * without request compression). Immutable.
 */
record CompressorConfig(CompressorSettings settings, CompressorStats stats, RequestCompressorStats requestStats) {
  CompressorConfig(CompressorSettings settings, CompressorStats stats) {
    this(settings, stats, null);
  }

  int level() {
    return settings.level();
  }

  int strategy() {
    return settings.strategy();
  }

  int chunkSize() {
    return settings.chunkSize();
  }
}
