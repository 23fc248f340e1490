package io.keelson.dataplane.filter;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.stats.ResponseFlag;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The filters after an external check run once the request was routed and balanced, so a route-cache clear there
 * cannot choose the route again: the request must be answered locally, never forwarded on the route that headers the
 * filter changed (a forged claim header) chose.
 */
class ResumedChainRouteCacheTest {
  @Test
  void aRouteCacheClearAfterTheCheckAnswers500AndStopsTheChain() {
    AtomicInteger later = new AtomicInteger();
    HttpFilter clears = FilterContext::clearRouteCache;
    HttpFilter after = c -> later.incrementAndGet();
    FilterContext context = new FilterContext();
    context.pause(PausedChain.of(new HttpFilter[] {clears, after}, 0, context));

    FilterChain.resume(context);

    assertThat(context.hasLocalReply()).isTrue();
    assertThat(context.status()).isEqualTo(500);
    assertThat(context.flag()).isEqualTo(ResponseFlag.NR);
    assertThat(context.body()).isEqualTo(FilterChain.ROUTE_CLEARED_AFTER_CHECK);
    assertThat(later).as("no filter runs after the refused clear").hasValue(0);
  }

  @Test
  void aResumedChainThatDoesNotClearGoesOn() {
    AtomicInteger ran = new AtomicInteger();
    FilterContext context = new FilterContext();
    context.pause(PausedChain.of(new HttpFilter[] {c -> ran.incrementAndGet(), c -> ran.incrementAndGet()}, 0, context));

    FilterChain.resume(context);

    assertThat(context.hasLocalReply()).isFalse();
    assertThat(ran).hasValue(2);
  }
}
