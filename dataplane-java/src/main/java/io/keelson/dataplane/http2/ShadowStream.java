package io.keelson.dataplane.http2;

import io.keelson.dataplane.mirror.MirrorCounters;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One mirrored copy on an upstream channel of the shadow cluster (a pooled HTTP/1.1 connection or an
 * HTTP/2 stream), from {@link ShadowSender}: writes the copy once it has the channel, discards the
 * answer, gives a keep-alive connection back to the pool once the answer has ended, and counts a
 * failure when no final response head arrived (connect or TLS failure, reset, close, timeout). Holds
 * its cluster's request slot until it ends and the pending slot until it has a channel. Confined to
 * the event loop of its channels.
 */
final class ShadowStream implements UpstreamOwner {
  private final UpstreamChannels channels;
  private final ServingCluster cluster;
  private final CircuitBreakers.Resources breaker;
  private final MirrorCounters counters;
  private final long timeoutNanos;
  private FullHttpRequest copy;
  private Channel channel;
  private ChannelFuture written;
  private ScheduledFuture<?> timeout;
  private boolean pendingHeld = true;
  private boolean responded;
  private boolean skippingInformational;
  private boolean keepAlive;
  private boolean ended;

  ShadowStream(UpstreamChannels channels, ServingCluster cluster, CircuitBreakers.Resources breaker,
      FullHttpRequest copy, MirrorCounters counters, long timeoutNanos) {
    this.channels = channels;
    this.cluster = cluster;
    this.breaker = breaker;
    this.copy = copy;
    this.counters = counters;
    this.timeoutNanos = timeoutNanos;
    cluster.stats().rqTotal.increment();
    cluster.stats().rqActive.increment();
  }

  /** No connection slot (max_connections): the copy is dropped without being sent. */
  void dropped() {
    counters.overflow().increment();
    end(true);
  }

  /** The channel for the copy was had, or could not be (connect, TLS handshake or stream failure). */
  void onOpen(io.netty.util.concurrent.Future<? super Channel> f) {
    releasePending();
    if (!f.isSuccess()) {
      if (f.cause() instanceof io.netty.channel.ConnectTimeoutException) {
        cluster.stats().cxConnectTimeout.increment();
      }
      cluster.stats().cxConnectFail.increment();
      end(false);
      return;
    }
    channel = (Channel) f.getNow();
    if (ended) {
      channels.release(channel, false);
      return;
    }
    counters.total().increment();
    if (timeoutNanos > 0) {
      timeout = channel.eventLoop().schedule(() -> {
        Channel c = channel;
        if (c != null && !ended) {
          c.close(); // the relay reports the close: no answer in time
        }
      }, timeoutNanos, TimeUnit.NANOSECONDS);
    }
    FullHttpRequest r = copy;
    copy = null;
    written = channel.writeAndFlush(r);
    written.addListener(w -> {
      if (!w.isSuccess()) {
        channel.close();
      }
    });
  }

  @Override
  public void onUpstreamRead(HttpObject msg) {
    try {
      if (ended) {
        return;
      }
      if (msg instanceof HttpResponse r) {
        if (r.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
          skippingInformational = !(r instanceof FullHttpResponse);
          return; // 100 Continue and friends: the final response follows
        }
        responded = true;
        keepAlive = HttpUtil.isKeepAlive(r);
        cluster.stats().recordResponse(r.status().code());
      } else if (skippingInformational) {
        skippingInformational = !(msg instanceof LastHttpContent);
        return;
      }
      if (responded && msg instanceof LastHttpContent) {
        // Reused only when the whole copy went out: a connection mid-request cannot carry another.
        boolean reusable = keepAlive && written != null && written.isDone() && written.isSuccess();
        Channel c = channel;
        end(true);
        channels.release(c, reusable);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void onUpstreamReadComplete() {}

  @Override
  public void onUpstreamWritabilityChanged(boolean writable) {}

  @Override
  public void onUpstreamClosed(long resetCode) {
    end(responded);
  }

  private void releasePending() {
    if (pendingHeld) {
      pendingHeld = false;
      breaker.releasePending();
    }
  }

  private void end(boolean ok) {
    if (ended) {
      return;
    }
    ended = true;
    releasePending();
    breaker.releaseRequest();
    cluster.stats().rqActive.decrement();
    if (timeout != null) {
      timeout.cancel(false);
    }
    if (copy != null) {
      copy.release();
      copy = null;
    }
    if (!ok) {
      counters.failed().increment();
    }
  }
}
