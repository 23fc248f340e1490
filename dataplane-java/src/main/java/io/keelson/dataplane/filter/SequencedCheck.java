package io.keelson.dataplane.filter;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.http2.UpstreamCalls;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Two filters' external checks made one after the other, in filter order (ext_authz, then the rate limit service,
 * as Envoy's filter chain runs them): the second starts only when the first lets the request through, and the
 * outcome lets it through with both checks' header changes, or is the first denial. Made per request when a second
 * filter asks for a check ({@link FilterContext#checkExternally}); {@link #start} runs on the connection's event loop.
 */
final class SequencedCheck implements ExternalCheck {
  private final ExternalCheck first;
  private final ExternalCheck second;

  SequencedCheck(ExternalCheck first, ExternalCheck second) {
    this.first = first;
    this.second = second;
  }

  @Override
  public UpstreamCalls.Call start(CheckedRequest request, Consumer<CheckOutcome> done) {
    Running running = new Running();
    running.call = first.start(request, outcome -> {
      if (!outcome.allowed() || running.cancelled) {
        done.accept(outcome);
        return;
      }
      running.call = second.start(request, next -> done.accept(next.allowed() ? merge(outcome, next) : next));
    });
    return running;
  }

  private static CheckOutcome merge(CheckOutcome a, CheckOutcome b) {
    if (a == CheckOutcome.ALLOW) {
      return b;
    }
    if (b == CheckOutcome.ALLOW) {
      return a;
    }
    List<HeaderMutations.HeaderValue> add = new ArrayList<>(a.upstreamHeaders().add());
    add.addAll(b.upstreamHeaders().add());
    List<String> remove = new ArrayList<>(a.upstreamHeaders().remove());
    remove.addAll(b.upstreamHeaders().remove());
    String lines = a.responseHeaders() == null ? b.responseHeaders()
        : b.responseHeaders() == null ? a.responseHeaders() : a.responseHeaders() + b.responseHeaders();
    return CheckOutcome.allow(new HeaderMutations(add, remove), lines);
  }

  /** The outstanding call of one request: whichever check runs now. Confined to the request's event loop. */
  private static final class Running implements UpstreamCalls.Call {
    UpstreamCalls.Call call = UpstreamCalls.Call.ENDED;
    boolean cancelled;

    @Override
    public void cancel() {
      cancelled = true;
      call.cancel();
    }
  }
}
