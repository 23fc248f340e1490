package io.keelson.dataplane.filter.decompressor;

/** Settings bound to their counters. Immutable. */
record DecompressorConfig(DecompressorSettings settings, DecompressorStats stats) {
  int chunkSize() {
    return settings.chunkSize();
  }

  long maxInflateRatio() {
    return settings.maxInflateRatio();
  }
}
