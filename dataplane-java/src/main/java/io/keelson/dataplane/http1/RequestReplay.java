package io.keelson.dataplane.http1;

import io.netty.buffer.ByteBuf;
import java.util.ArrayList;

/**
 * The request body bytes sent so far, kept so a retry can send them again: each chunk is held as a
 * retained duplicate (the original goes to the upstream and is released by the write), and sent again
 * as a fresh retained duplicate. Past the byte limit everything is released and the request can no
 * longer be retried. Event-loop confined; {@link #release} must run when the exchange ends.
 */
public final class RequestReplay {
  private final ArrayList<ByteBuf> chunks = new ArrayList<>();
  private int bytes;
  private int limit;
  private boolean recording;
  private boolean overflowed;

  /** Starts recording a new request's body, up to {@code limit} bytes. */
  public void start(int limit) {
    release();
    this.limit = limit;
    this.recording = true;
    this.overflowed = false;
  }

  /** Records a chunk about to be written upstream (the caller keeps its reference). */
  public void record(ByteBuf content) {
    if (!recording) {
      return;
    }
    bytes += content.readableBytes();
    if (bytes > limit) {
      overflowed = true;
      release();
      return;
    }
    chunks.add(content.retainedDuplicate());
  }

  /** False once the body outgrew the limit: it cannot be sent again. */
  public boolean replayable() {
    return !overflowed;
  }

  public int chunkCount() {
    return chunks.size();
  }

  /** A new reference to chunk {@code i} for one more write; the write releases it. */
  public ByteBuf chunk(int i) {
    return chunks.get(i).retainedDuplicate();
  }

  /** Drops every held chunk and stops recording. Idempotent. */
  public void release() {
    for (int i = 0; i < chunks.size(); i++) {
      chunks.get(i).release();
    }
    chunks.clear();
    bytes = 0;
    recording = false;
  }
}
