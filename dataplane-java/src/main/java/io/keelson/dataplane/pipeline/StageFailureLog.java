package io.keelson.dataplane.pipeline;

import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Logs a pipeline stage's exceptions: the first {@value #LOGGED} per pipeline in full, then only a
 * count, so a stage failing on every event cannot flood the log or slow the thread down.
 *
 * <p>Threading: thread-safe (the stages of one ring share it).
 */
final class StageFailureLog {
  private static final Logger LOG = LoggerFactory.getLogger(StageFailureLog.class);
  private static final int LOGGED = 10;
  private final String pipeline;
  private final AtomicLong failures = new AtomicLong();

  StageFailureLog(String pipeline) {
    this.pipeline = pipeline;
  }

  /** Records one failure; {@code event} is the event's position (the ring sequence, or -1 inline). */
  void failed(Throwable cause, long event) {
    long n = failures.incrementAndGet();
    if (n <= LOGGED) {
      LOG.error("pipeline '{}': a stage failed on event {} (failure {}; the stage goes on)", pipeline, event, n, cause);
    }
  }
}
