package io.keelson.dataplane.routing;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.pipeline.Stage;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A routing stage that throws must not leave its request waiting for a decision, nor let it go on
 * half-decided (an HTTP filter such as RBAC that never ran must not let the request through): the
 * stages after it skip the event and the balance stage hands it back as failed, in both wirings.
 */
class RoutingStageFailureTest {
  /** What the callback saw: the failure's type, or "ok", and the endpoint. */
  private record Seen(String failure, int endpoint) {}

  private static final ServingListener NO_FILTERS = new ServingListener(null, null, null);
  private final BlockingQueue<Seen> seen = new ArrayBlockingQueue<>(8);
  private final RoutingCallback callback = event -> seen.add(new Seen(
      event.failure == null ? "ok" : event.failure.getClass().getSimpleName(), event.endpoint));

  @ParameterizedTest
  @EnumSource(PipelineMode.class)
  void aFailingStageHandsItsRequestBackFailedAndTheNextRequestIsUnaffected(PipelineMode mode) throws Exception {
    Supplier<Stage<RoutingEvent>> route = () -> event -> {
      event.clearOutputs();
      if ("fail".equals(event.remoteIp)) {
        throw new IllegalStateException("a route stage failing on one request");
      }
    };
    List<Supplier<? extends Stage<RoutingEvent>>> stages = List.of(route, PolicyStage::new, BalanceStage::new);
    try (RoutingPipelines pipelines = new RoutingPipelines(mode, 8, stages)) {
      assertThat(pipelines.current().tryPublish(this::fill, "fail")).isTrue();
      Seen failed = seen.poll(10, TimeUnit.SECONDS);
      assertThat(failed).as("the failed request's decision came back").isNotNull();
      assertThat(failed.failure()).isEqualTo("IllegalStateException");
      assertThat(failed.endpoint()).isEqualTo(-1);

      assertThat(pipelines.current().tryPublish(this::fill, "fine")).isTrue();
      Seen next = seen.poll(10, TimeUnit.SECONDS);
      assertThat(next).isNotNull();
      assertThat(next.failure()).as("a failure does not stick to the reused event").isEqualTo("ok");
    }
  }

  private void fill(RoutingEvent event, String name) {
    event.remoteIp = name;
    event.callback = callback;
    event.listener = NO_FILTERS;
  }
}
