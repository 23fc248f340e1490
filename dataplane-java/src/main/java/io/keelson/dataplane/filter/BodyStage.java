package io.keelson.dataplane.filter;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * One request's or response's body transform (gzip deflate or inflate), chunk by chunk as the body streams: never the whole
 * body held. One instance per exchange; confined to its connection's event loop.
 */
public interface BodyStage {
  /**
   * Transforms the next chunk; takes ownership of {@code in} and returns a buffer the caller owns (possibly empty).
   *
   * @param last the body ends with this chunk: the stage writes what it holds back (a gzip trailer)
   * @throws BodyCodingException when the body cannot be transformed (corrupt input, a decompression bomb)
   */
  ByteBuf apply(ByteBuf in, boolean last, ByteBufAllocator alloc);

  /** Gives back the native (de)compressor; idempotent. Called when the body ends or the exchange is cut short. */
  void release();

  /**
   * A body the stage refuses. A response: the connection resets the stream (HTTP/2) or closes (HTTP/1.1). A request:
   * answered {@link #status()} when no response has started (413 for a decompression bomb, 400 for a corrupt body),
   * else reset or closed.
   */
  final class BodyCodingException extends RuntimeException {
    private final int status;

    public BodyCodingException(String message) {
      this(message, 400);
    }

    public BodyCodingException(String message, int status) {
      super(message, null, false, false);
      this.status = status;
    }

    public int status() {
      return status;
    }
  }
}
