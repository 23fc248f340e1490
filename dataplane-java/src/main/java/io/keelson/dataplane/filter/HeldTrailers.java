package io.keelson.dataplane.filter;

import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.EventLoop;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * A message's end (of type {@code T}: the connection's own) held while a {@link TrailersCheck} looks at its trailers:
 * the outcome goes to the connection with the end, unless the exchange ended first ({@link #release}: the check is
 * cancelled and the end released). One per message end; confined to the connection's event loop.
 */
public final class HeldTrailers<T> {
  private final Consumer<T> release;
  private T held;
  private UpstreamCalls.Call call = UpstreamCalls.Call.ENDED;

  /**
   * Starts {@code check} of {@code trailers} (those of {@code end}, which is held); {@code then} gets the end and the
   * outcome (maybe at once, within this call); {@code release} frees an end the exchange no longer wants.
   */
  public HeldTrailers(TrailersCheck check, T end, EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot,
      CheckedRequest.HeaderSource trailers, Consumer<T> release, BiConsumer<T, CheckOutcome> then) {
    this.release = release;
    this.held = end;
    UpstreamCalls.Call c = check.start(loop, calls, snapshot, trailers, outcome -> {
      T e = held;
      if (e == null) {
        return;
      }
      held = null;
      then.accept(e, outcome);
    });
    if (held != null) { // not answered at once
      call = c;
    }
  }

  /** The end is held: the check has not answered. */
  public boolean holding() {
    return held != null;
  }

  /** The exchange ended while the end was held: the check is cancelled and the end released. */
  public void release() {
    T e = held;
    held = null;
    if (e != null) {
      call.cancel();
      release.accept(e);
    }
    call = UpstreamCalls.Call.ENDED;
  }
}
