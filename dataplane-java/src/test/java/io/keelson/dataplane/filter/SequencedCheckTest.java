package io.keelson.dataplane.filter;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.stats.ResponseFlag;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** Two filters' external checks (ext_authz then the rate limit service) in one request: order, denial, merge, cancel. */
class SequencedCheckTest {
  /** A check answered by the test: records its start and hands out its pending callback. */
  private static final class ManualCheck implements ExternalCheck {
    final List<Consumer<CheckOutcome>> pending = new ArrayList<>();
    boolean cancelled;

    @Override
    public UpstreamCalls.Call start(CheckedRequest request, Consumer<CheckOutcome> done) {
      pending.add(done);
      return () -> cancelled = true;
    }
  }

  private static HeaderMutations add(String name) {
    return new HeaderMutations(List.of(new HeaderMutations.HeaderValue(name, "1", false)), List.of());
  }

  @Test
  void theSecondRunsAfterTheFirstAllowsAndBothHeaderChangesApply() {
    ManualCheck authz = new ManualCheck();
    ManualCheck rls = new ManualCheck();
    FilterContext context = new FilterContext();
    context.checkExternally(authz);
    context.checkExternally(rls);
    List<CheckOutcome> outcomes = new ArrayList<>();
    context.externalCheck().start(null, outcomes::add);
    assertThat(rls.pending).isEmpty();
    authz.pending.get(0).accept(CheckOutcome.allow(add("x-user")));
    assertThat(rls.pending).hasSize(1);
    rls.pending.get(0).accept(CheckOutcome.allow(add("x-rls"), "x-ratelimit-remaining: 1\r\n"));
    assertThat(outcomes).hasSize(1);
    assertThat(outcomes.get(0).allowed()).isTrue();
    assertThat(outcomes.get(0).upstreamHeaders().add()).extracting(HeaderMutations.HeaderValue::name).containsExactly("x-user", "x-rls");
    assertThat(outcomes.get(0).responseHeaders()).isEqualTo("x-ratelimit-remaining: 1\r\n");
  }

  @Test
  void aDenialByTheFirstEndsItAndCancellingReachesTheRunningCheck() {
    ManualCheck authz = new ManualCheck();
    ManualCheck rls = new ManualCheck();
    ExternalCheck both = new SequencedCheck(authz, rls);
    List<CheckOutcome> outcomes = new ArrayList<>();
    both.start(null, outcomes::add);
    authz.pending.get(0).accept(CheckOutcome.deny(403, "", null, ResponseFlag.UAEX));
    assertThat(outcomes).extracting(CheckOutcome::status).containsExactly(403);
    assertThat(rls.pending).isEmpty();

    ManualCheck authz2 = new ManualCheck();
    ManualCheck rls2 = new ManualCheck();
    UpstreamCalls.Call call = new SequencedCheck(authz2, rls2).start(null, outcomes::add);
    authz2.pending.get(0).accept(CheckOutcome.ALLOW);
    call.cancel();
    assertThat(rls2.cancelled).isTrue();
    assertThat(authz2.cancelled).isFalse(); // it had ended
  }
}
