package io.keelson.dataplane.http2;

import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.channel.Channel;

/**
 * What a side call ({@link CallStream}, {@link StreamedCall}) holds of its cluster while it runs: a
 * {@code max_requests} slot of the default-priority breakers until it ends, a {@code max_pending_requests} one until
 * it has a channel, and its place in upstream_rq_active; and how it ends: once, by failing (its caller told) or by
 * being cancelled (nobody told, its channel closed: an HTTP/2 stream reset). Confined to its channels' event loop.
 */
abstract class SideCallSlots implements UpstreamOwner, UpstreamCalls.Call {
  final ServingCluster cluster;
  private final CircuitBreakers.Resources breaker;
  /** The call's channel once it has one. */
  Channel channel;
  boolean ended;
  private boolean pendingHeld = true;

  SideCallSlots(ServingCluster cluster, CircuitBreakers.Resources breaker) {
    this.cluster = cluster;
    this.breaker = breaker;
    cluster.stats().rqTotal.increment();
    cluster.stats().rqActive.increment();
  }

  /** Tells the caller the call failed. */
  abstract void failed(String reason);

  /** Releases what the call holds besides its slots (buffers, timers); called once, when it ends. */
  abstract void released();

  @Override
  public final void cancel() {
    if (ended) {
      return;
    }
    Channel c = channel;
    end(); // no callback: the caller no longer wants the answer
    if (c != null) {
      c.close(); // closing a stream channel resets the stream (CANCEL); onUpstreamClosed then finds it ended
    } // still connecting: onOpen finds it ended and gives the channel back unused
  }

  /**
   * The channel for the call was had, or could not be (connect, TLS handshake or stream failure): the pending slot goes
   * back; null after failing the call when there is none.
   */
  final Channel opened(io.netty.util.concurrent.Future<? super Channel> f) {
    releasePending();
    if (!f.isSuccess()) {
      if (f.cause() instanceof io.netty.channel.ConnectTimeoutException) {
        cluster.stats().cxConnectTimeout.increment();
      }
      cluster.stats().cxConnectFail.increment();
      fail("connect failed: " + f.cause());
      return null;
    }
    return (Channel) f.getNow();
  }

  @Override
  public void onUpstreamReadComplete() {}

  @Override
  public void onUpstreamWritabilityChanged(boolean writable) {}

  @Override
  public void onUpstreamClosed(long resetCode) {
    fail(resetCode >= 0 ? "stream reset (" + resetCode + ")" : "connection closed before the call ended");
  }

  final void fail(String reason) {
    if (ended) {
      return;
    }
    end();
    failed(reason);
  }

  /** The call has its channel (or will not get one): the pending slot goes back. */
  final void releasePending() {
    if (pendingHeld) {
      pendingHeld = false;
      breaker.releasePending();
    }
  }

  final void end() {
    ended = true;
    releasePending();
    breaker.releaseRequest();
    cluster.stats().rqActive.decrement();
    released();
  }
}
