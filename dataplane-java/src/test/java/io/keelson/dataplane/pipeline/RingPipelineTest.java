package io.keelson.dataplane.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * The ring's failure modes: a stage that throws must not stop the ring (every later request would wait
 * for a routing decision that never comes), and closing must not wait forever for a stage that is stuck
 * (Disruptor's own shutdown() spins, uninterruptibly, until the backlog drains).
 */
class RingPipelineTest {
  static final class Event {
    String value;
  }

  @Test
  void aStageThatThrowsDoesNotStopTheRing() throws Exception {
    CountDownLatch reachedLastStage = new CountDownLatch(1);
    List<Supplier<? extends Stage<Event>>> stages = List.of(
        () -> e -> {
          if (e.value.equals("bad")) {
            throw new IllegalStateException("a stage failing on one event");
          }
        },
        () -> e -> {
          if (e.value.equals("good")) {
            reachedLastStage.countDown();
          }
        });
    try (Pipeline<Event> ring = PipelineFactory.create(PipelineMode.DISRUPTOR, "test", stages, Event::new, 8)) {
      assertThat(ring.tryPublish((e, v) -> e.value = v, "bad")).isTrue();
      assertThat(ring.tryPublish((e, v) -> e.value = v, "good")).isTrue();
      assertThat(reachedLastStage.await(10, TimeUnit.SECONDS))
          .as("the event after the failing one went through every stage").isTrue();
    }
  }

  @Test
  void closeReturnsWhileAStageIsStuck() throws Exception {
    CountDownLatch stuck = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    List<Supplier<? extends Stage<Event>>> stages = List.of(
        () -> e -> {
          if (e.value.equals("stuck")) {
            stuck.countDown();
            try {
              release.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException ie) {
              Thread.currentThread().interrupt();
            }
          }
        },
        () -> e -> {});
    Pipeline<Event> ring = PipelineFactory.create(PipelineMode.DISRUPTOR, "test", stages, Event::new, 8);
    Thread closer = new Thread(ring::close, "ring-closer");
    try {
      ring.tryPublish((e, v) -> e.value = v, "stuck");
      ring.tryPublish((e, v) -> e.value = v, "waiting behind it");
      assertThat(stuck.await(10, TimeUnit.SECONDS)).isTrue();
      closer.start();
      closer.join(TimeUnit.SECONDS.toMillis(RingPipeline.CLOSE_WAIT_SECONDS + 10));
      assertThat(closer.isAlive()).as("close() returned although a stage never finished").isFalse();
    } finally {
      release.countDown(); // lets a spinning close (the bug) end, so the test leaves no busy thread behind
      closer.join(10_000);
    }
  }
}
