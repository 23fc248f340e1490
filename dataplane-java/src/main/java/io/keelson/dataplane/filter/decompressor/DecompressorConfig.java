package io.keelson.dataplane.filter.decompressor;

/** Settings bound to their counters, per direction. Immutable. */
record DecompressorConfig(DecompressorSettings settings, DecompressorStats stats, DecompressorStats requestStats) {
  int chunkSize() {
    return settings.chunkSize();
  }

  long maxInflateRatio() {
    return settings.maxInflateRatio();
  }
}
