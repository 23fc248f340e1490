package io.keelson.dataplane.http2;

import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One side call on an upstream channel (a pooled HTTP/1.1 connection or an HTTP/2 stream), from
 * {@link CallSender}: writes the request once it has the channel, collects the answer (body up to a
 * bound) and hands it to the callback; a keep-alive connection goes back to the pool once the answer
 * has ended. Holds its cluster's request slot until it ends and the pending slot until it has a channel.
 * Cancelled by its caller ({@link #cancel}), it ends at once without a callback and closes its channel (an
 * HTTP/1.1 connection is closed, an HTTP/2 stream reset), so a caller gone away frees the cluster's slots.
 * Confined to the event loop of its channels.
 */
final class CallStream extends SideCallSlots {
  private final UpstreamChannels channels;
  private final int maxBodyBytes;
  private final UpstreamCalls.Callback callback;
  private FullHttpRequest request;
  private ChannelFuture written;
  private ScheduledFuture<?> timeout;
  private boolean skippingInformational;
  private boolean keepAlive;
  private int status;
  private HttpHeaders headers;
  private ByteBuf body;

  CallStream(UpstreamChannels channels, ServingCluster cluster, CircuitBreakers.Resources breaker,
      FullHttpRequest request, int maxBodyBytes, UpstreamCalls.Callback callback) {
    super(cluster, breaker);
    this.channels = channels;
    this.request = request;
    this.maxBodyBytes = maxBodyBytes;
    this.callback = callback;
  }

  void startTimer(EventLoop loop, long timeoutNanos) {
    if (timeoutNanos > 0 && !ended) {
      timeout = loop.schedule(() -> {
        if (!ended) {
          cluster.stats().rqTimeout.increment();
          Channel c = channel;
          fail(UpstreamCalls.TIMEOUT);
          if (c != null) {
            c.close();
          }
        }
      }, timeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  /** The channel for the call was had, or could not be (connect, TLS handshake or stream failure). */
  void onOpen(io.netty.util.concurrent.Future<? super Channel> f) {
    Channel c = opened(f);
    if (c == null) {
      return;
    }
    if (ended) {
      channels.release(c, false);
      return;
    }
    channel = c;
    FullHttpRequest r = request;
    request = null;
    written = c.writeAndFlush(r);
    written.addListener(w -> {
      if (!w.isSuccess()) {
        c.close();
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
          return;
        }
        status = r.status().code();
        headers = new DefaultHttpHeaders().add(r.headers());
        keepAlive = HttpUtil.isKeepAlive(r);
        cluster.stats().recordResponse(status);
      } else if (skippingInformational) {
        skippingInformational = !(msg instanceof LastHttpContent);
        return;
      }
      if (status == 0) {
        return;
      }
      if (msg instanceof HttpContent content && content.content().isReadable()) {
        ByteBuf in = content.content();
        int held = body == null ? 0 : body.readableBytes();
        if (held + in.readableBytes() > maxBodyBytes) {
          Channel c = channel;
          fail("answer body over " + maxBodyBytes + " bytes");
          c.close();
          return;
        }
        if (body == null) {
          body = channel.alloc().heapBuffer(Math.max(256, in.readableBytes()));
        }
        body.writeBytes(in, in.readerIndex(), in.readableBytes());
      }
      if (msg instanceof LastHttpContent last) {
        HttpHeaders trailers = last.trailingHeaders().isEmpty() ? EmptyHttpHeaders.INSTANCE
            : new DefaultHttpHeaders().add(last.trailingHeaders());
        boolean reusable = keepAlive && written != null && written.isDone() && written.isSuccess();
        byte[] bytes = new byte[body == null ? 0 : body.readableBytes()];
        if (body != null) {
          body.readBytes(bytes);
        }
        Channel c = channel;
        end();
        channels.release(c, reusable);
        callback.onResponse(new UpstreamCalls.Response(status, headers, bytes, trailers));
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  void failed(String reason) {
    callback.onFailure(reason);
  }

  @Override
  void released() {
    if (timeout != null) {
      timeout.cancel(false);
    }
    if (request != null) {
      request.release();
      request = null;
    }
    if (body != null) {
      body.release();
      body = null;
    }
  }
}
