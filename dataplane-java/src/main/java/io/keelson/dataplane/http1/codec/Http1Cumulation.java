package io.keelson.dataplane.http1.codec;

import io.netty.buffer.ByteBuf;

/**
 * The bytes a parser has received but not consumed yet: the first input buffer itself when possible,
 * else a merged copy that grows geometrically. Owned by one parser; not thread-safe.
 */
final class Http1Cumulation {
  private ByteBuf buf;

  /** The current buffer, or null when nothing is held. */
  ByteBuf buf() {
    return buf;
  }

  int readableBytes() {
    return buf == null ? 0 : buf.readableBytes();
  }

  boolean isReadable() {
    return buf != null && buf.isReadable();
  }

  /** Takes ownership of {@code in}: keeps it, or copies it behind what is held and releases it. */
  void append(ByteBuf in) {
    if (buf == null) {
      buf = in;
      return;
    }
    int inBytes = in.readableBytes();
    if (inBytes == 0) {
      in.release();
      return;
    }
    ByteBuf cum = buf;
    if (cum.refCnt() == 1 && !cum.isReadOnly() && cum.writableBytes() >= inBytes) {
      cum.writeBytes(in);
      in.release();
      return;
    }
    // Shared (slices handed to the listener) or full: copy both into a fresh buffer, with room to
    // grow, so that many small reads while paused cost amortised O(1) per byte, not a full copy each.
    int required = cum.readableBytes() + inBytes;
    ByteBuf merged = in.alloc().buffer(in.alloc().calculateNewCapacity(required, Integer.MAX_VALUE));
    merged.writeBytes(cum, cum.readerIndex(), cum.readableBytes());
    merged.writeBytes(in, in.readerIndex(), inBytes);
    cum.release();
    in.release();
    buf = merged;
  }

  /** Releases the buffer once everything in it was consumed. */
  void releaseIfEmpty() {
    if (buf != null && !buf.isReadable()) {
      release();
    }
  }

  void release() {
    if (buf != null) {
      ByteBuf b = buf;
      buf = null;
      b.release();
    }
  }
}
