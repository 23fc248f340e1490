package io.keelson.dataplane.filter.compressor;

/** Settings bound to their counters: what a compiled compressor filter and its response codings read. Immutable. */
record CompressorConfig(CompressorSettings settings, CompressorStats stats) {
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
