package io.keelson.dataplane.filter.compressor;

import io.netty.util.concurrent.FastThreadLocal;
import java.util.ArrayDeque;
import java.util.zip.Deflater;

/**
 * Raw-deflate {@link Deflater}s kept per thread (each event loop its own, so no locking), at most {@link #MAX_IDLE}
 * idle per thread; one beyond that is {@code end()}ed at once, so native zlib memory stays bounded. Settings are
 * applied on each take (a reset Deflater takes a new level and strategy before its first input).
 */
final class DeflaterPool {
  static final int MAX_IDLE = 32;

  private static final FastThreadLocal<ArrayDeque<Deflater>> IDLE = new FastThreadLocal<>() {
    @Override
    protected ArrayDeque<Deflater> initialValue() {
      return new ArrayDeque<>(MAX_IDLE);
    }
  };

  private DeflaterPool() {}

  static Deflater take(int level, int strategy) {
    Deflater d = IDLE.get().pollFirst();
    if (d == null) {
      d = new Deflater(level, true);
    } else {
      d.setLevel(level);
    }
    d.setStrategy(strategy);
    return d;
  }

  static void give(Deflater d) {
    ArrayDeque<Deflater> idle = IDLE.get();
    if (idle.size() >= MAX_IDLE) {
      d.end();
      return;
    }
    d.reset();
    idle.addFirst(d);
  }

  /** Idle Deflaters on this thread (tests). */
  static int idle() {
    return IDLE.get().size();
  }
}
