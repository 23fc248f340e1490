package io.keelson.dataplane.filter.bandwidthlimit;

import io.keelson.dataplane.filter.StreamedBodyCheck;
import io.keelson.dataplane.filter.ratelimit.TokenBucket;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * One body paced through a shared {@link TokenBucket} (a byte a token), as Envoy's StreamRateLimiter: chunks go on as
 * soon as the bucket has tokens for them, in slices when it has fewer, and what waits is held in a queue of the chunks
 * as read (never copied, never the whole body: above {@link #HIGH_WATER} bytes the producer is paused until the queue
 * is below {@link #LOW_WATER}; the pause is asked again on every offer above it, as a backstop should the producer
 * have been read again). When the bucket is empty a drain is scheduled on the loop for its next fill; {@link #cancel}
 * (the exchange ended first, as Envoy's onDestroy) drops the queue and the drain, so a departed client spends no more
 * of the shared bucket. Confined to its loop.
 */
final class PacedBody implements StreamedBodyCheck.Body {
  static final int HIGH_WATER = 64 * 1024;
  static final int LOW_WATER = 16 * 1024;

  private final EventLoop loop;
  private final StreamedBodyCheck.Sink sink;
  private final TokenBucket bucket;
  private final LongAdder enforced;
  private final LongAdder allowedBytes;
  private final ArrayDeque<ByteBuf> queue = new ArrayDeque<>();
  private final Runnable drainTask = this::drainScheduled;
  private long queued;
  private boolean last;
  private boolean scheduled;
  private boolean paused;
  private boolean waited;
  private boolean ended;
  private boolean cancelled;
  private ScheduledFuture<?> drainTimer;

  PacedBody(EventLoop loop, StreamedBodyCheck.Sink sink, TokenBucket bucket, LongAdder enforced, LongAdder allowedBytes) {
    this.loop = loop;
    this.sink = sink;
    this.bucket = bucket;
    this.enforced = enforced;
    this.allowedBytes = allowedBytes;
  }

  /** Pacing does not depend on whether trailers follow: the connection forwards them after the last chunk. */
  @Override
  public void offer(ByteBuf chunk, boolean last, boolean trailers) {
    if (cancelled) {
      chunk.release();
      return;
    }
    if (chunk.isReadable()) {
      queue.addLast(chunk);
      queued += chunk.readableBytes();
    } else {
      chunk.release();
    }
    this.last |= last;
    if (!scheduled) {
      drain();
    }
    if (queued > HIGH_WATER) {
      paused = true;
      sink.pause();
    }
  }

  @Override
  public void cancel() {
    if (cancelled) {
      return;
    }
    cancelled = true;
    ended = true;
    if (drainTimer != null) {
      drainTimer.cancel(false);
      drainTimer = null;
    }
    scheduled = false;
    ByteBuf b;
    while ((b = queue.pollFirst()) != null) {
      b.release();
    }
    queued = 0;
  }

  private void drainScheduled() {
    scheduled = false;
    drainTimer = null;
    if (!cancelled) {
      drain();
    }
  }

  private void drain() {
    while (!queue.isEmpty()) {
      ByteBuf head = queue.peekFirst();
      long took = bucket.acquireUpTo(head.readableBytes());
      if (took == 0) {
        if (!waited) {
          waited = true;
          enforced.increment();
        }
        scheduled = true;
        drainTimer = loop.schedule(drainTask, bucket.nanosToNextFill(), TimeUnit.NANOSECONDS);
        return;
      }
      ByteBuf out = took == head.readableBytes() ? queue.pollFirst() : head.readRetainedSlice((int) took);
      queued -= took;
      allowedBytes.add(took);
      sink.forward(out, last && queue.isEmpty());
      if (last && queue.isEmpty()) {
        ended = true;
      }
    }
    if (paused && queued < LOW_WATER) {
      paused = false;
      sink.resume();
    }
    if (last && !ended) {
      ended = true;
      sink.forward(Unpooled.EMPTY_BUFFER, true);
    }
  }
}
