package io.keelson.dataplane.http2;

import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.routing.ServingCluster;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;

/**
 * One bidirectional side call on an HTTP/2 stream of a cluster (ext_proc's Process stream), from {@link CallSender}:
 * the head is written once the stream is had and the body parts sent before that are written after it, in order;
 * the answer's DATA is handed to the callback as it arrives, its end (trailers) or the stream's failure once. Holds the
 * cluster's request slot until it ends and the pending slot until it has a stream, as {@link CallStream}; cancelled,
 * it resets the stream (CANCEL) without a callback. What waits for the stream is bounded by the caller (ext_proc has
 * one message outstanding). Confined to the event loop of its channels.
 */
final class StreamedCall extends SideCallSlots implements UpstreamCalls.Stream {
  private final UpstreamCalls.StreamCallback callback;
  private final ArrayDeque<HttpObject> early = new ArrayDeque<>(2);
  private boolean halfClosed;
  private int status;

  StreamedCall(ServingCluster cluster, CircuitBreakers.Resources breaker, HttpRequest head,
      UpstreamCalls.StreamCallback callback) {
    super(cluster, breaker);
    this.callback = callback;
    early.add(head);
  }

  /** The stream was had, or could not be (connect, TLS handshake or stream failure). */
  void onOpen(io.netty.util.concurrent.Future<? super Channel> f) {
    Channel c = opened(f);
    if (c == null) {
      return;
    }
    if (ended) {
      c.close();
      return;
    }
    channel = c;
    HttpObject o;
    while ((o = early.poll()) != null) {
      c.write(o, c.voidPromise());
    }
    c.flush();
  }

  @Override
  public void send(ByteBuf data) {
    write(new DefaultHttpContent(data));
  }

  @Override
  public void halfClose() {
    if (!halfClosed) {
      write(LastHttpContent.EMPTY_LAST_CONTENT);
      halfClosed = true;
    }
  }

  private void write(HttpContent part) {
    if (ended || halfClosed) {
      part.release();
    } else if (channel == null) {
      early.add(part);
    } else {
      channel.writeAndFlush(part, channel.voidPromise());
    }
  }

  @Override
  public void onUpstreamRead(HttpObject msg) {
    try {
      if (ended) {
        return;
      }
      if (msg instanceof HttpResponse r) {
        if (r.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
          return;
        }
        status = r.status().code();
        cluster.stats().recordResponse(status);
        if (r instanceof FullHttpResponse full) { // trailers-only: the head is the end
          finish(full.trailingHeaders().isEmpty() ? full.headers() : full.trailingHeaders());
          return;
        }
      }
      if (status == 0) {
        return;
      }
      if (msg instanceof HttpContent content && content.content().isReadable()) {
        callback.onData(content.content());
      }
      if (!ended && msg instanceof LastHttpContent last) {
        finish(last.trailingHeaders().isEmpty() ? EmptyHttpHeaders.INSTANCE : last.trailingHeaders());
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void finish(HttpHeaders trailers) {
    Channel c = channel;
    end();
    c.close(); // both sides done, or the answer ended first: the stream is reset if the request body is still open
    callback.onEnd(status, trailers);
  }

  @Override
  void failed(String reason) {
    callback.onFailure(reason);
  }

  @Override
  void released() {
    HttpObject o;
    while ((o = early.poll()) != null) {
      ReferenceCountUtil.release(o);
    }
  }
}
