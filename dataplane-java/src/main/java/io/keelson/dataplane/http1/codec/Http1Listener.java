package io.keelson.dataplane.http1.codec;

import io.netty.buffer.ByteBuf;

/**
 * Receives what an {@link Http1MessageParser} decodes, in order: {@code onHead}, any number of
 * {@code onBody}, {@code onComplete}; or {@code onError} at any point, after which nothing more
 * comes. Called on the thread that calls {@code feed}/{@code resume}; never while the parser is
 * paused (except {@code onError}).
 *
 * @param <H> {@link Http1Request} or {@link Http1Response}
 */
public interface Http1Listener<H> {
  /**
   * A complete, validated head. The object is reused by the parser for the next message of the
   * connection: it stays valid until the listener calls {@code resume()} after this message's
   * {@code onComplete} (copy it with {@code copy()} to keep it longer).
   */
  void onHead(H head);

  /** Body bytes, de-chunked. The listener owns the buffer and must release it. */
  void onBody(ByteBuf content);

  /**
   * The message is complete; {@code trailers} holds the chunked trailer fields (often empty) and is
   * reused by the parser like the head. The parser is now paused until {@code resume()}.
   */
  void onComplete(Http1Headers trailers);

  /** The input is malformed; the parser is dead from now on and has released its buffers. */
  void onError(Http1ParseException e);
}
