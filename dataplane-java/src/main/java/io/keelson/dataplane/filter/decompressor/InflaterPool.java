package io.keelson.dataplane.filter.decompressor;

import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayDeque;
import java.util.zip.Inflater;

/**
 * Raw-inflate {@link Inflater}s kept per thread (each event loop its own), at most {@link #MAX_IDLE} idle per thread;
 * one beyond that is {@code end()}ed at once, so native zlib memory stays bounded.
 */
final class InflaterPool {
  static final int MAX_IDLE = 32;

  private static final FastThreadLocal<ArrayDeque<Inflater>> IDLE = new FastThreadLocal<>() {
    @Override
    protected ArrayDeque<Inflater> initialValue() {
      return new ArrayDeque<>(MAX_IDLE);
    }
  };

  private InflaterPool() {}

  static Inflater take() {
    Inflater i = IDLE.get().pollFirst();
    return i != null ? i : new Inflater(true);
  }

  static void give(Inflater i) {
    ArrayDeque<Inflater> idle = IDLE.get();
    if (idle.size() >= MAX_IDLE) {
      i.end();
      return;
    }
    i.reset();
    idle.addFirst(i);
  }
}
