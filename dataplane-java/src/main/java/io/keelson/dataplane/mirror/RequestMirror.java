package io.keelson.dataplane.mirror;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.MirrorPolicy;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Envoy's request mirroring for one exchange: copies the request as it is sent upstream (head after
 * the route's header mutations, body up to {@link #MAX_BODY_BYTES}) and, when the request has
 * ended, sends the copy to each sampled shadow cluster with the authority suffixed {@code -shadow},
 * fire and forget: the shadow's answer is discarded, and nothing it does (slow, dead, reset) reaches
 * the main exchange. A body over the bound is not mirrored. The copy is HTTP/1.1, or HTTP/2 (h2c,
 * prior knowledge) when the shadow cluster has HTTP/2 protocol options, each on a connection of its
 * own. Confined to the downstream connection's event loop; the shadow connections run on the same loop.
 */
public final class RequestMirror {
  /** The largest request body mirrored; the copy is held in memory until the request ends. */
  public static final int MAX_BODY_BYTES = 64 * 1024;
  /** A shadow that has not closed its connection by then is cut off (its answer is not needed). */
  static final Duration MAX_SHADOW_TIME = Duration.ofSeconds(30);

  private record Target(ServingCluster cluster, MirrorCounters counters) {}

  private final ShadowHead head;
  private final List<Target> targets;
  private final EventLoop loop;
  private final Transport transport;
  private final long timeoutNanos;
  private ByteBuf body;

  private RequestMirror(ShadowHead head, List<Target> targets, EventLoop loop, Transport transport,
      Duration routeTimeout) {
    this.head = head;
    this.targets = targets;
    this.loop = loop;
    this.transport = transport;
    this.timeoutNanos = (routeTimeout.isZero() || routeTimeout.compareTo(MAX_SHADOW_TIME) > 0
        ? MAX_SHADOW_TIME : routeTimeout).toNanos();
  }

  /**
   * Starts mirroring an exchange whose route has {@code policies}; returns null (and allocates
   * nothing) when there are none or none samples this request.
   *
   * @param head       the request as it goes upstream (copied here; the caller keeps using it)
   * @param bodySoFar  body chunks received before routing finished (read, not consumed)
   * @param complete   the request has already ended: the copy is sent now and null is returned
   */
  public static RequestMirror start(List<MirrorPolicy> policies, Duration routeTimeout, ServingSnapshot snapshot,
      StatsRegistry stats, Transport transport, EventLoop loop, Http1Request head, Iterable<ByteBuf> bodySoFar,
      boolean complete) {
    if (policies.isEmpty()) {
      return null;
    }
    RequestMirror m = start(policies, routeTimeout, snapshot, stats, transport, loop, head.contentLength(),
        () -> ShadowHead.of(head));
    if (m == null) {
      return null;
    }
    for (ByteBuf chunk : bodySoFar) {
      if (!m.onBody(chunk)) {
        return null;
      }
    }
    if (complete) {
      m.onComplete();
      return null;
    }
    return m;
  }

  /**
   * Starts mirroring a request of any protocol (an HTTP/2 stream's): samples the policies like
   * {@link #start(List, Duration, ServingSnapshot, StatsRegistry, Transport, EventLoop, Http1Request, Iterable, boolean)}
   * and returns null when nothing is to be mirrored (or the declared body is over the bound, counted);
   * else the caller feeds it the body with {@link #onBody} and ends it with {@link #onComplete} or
   * {@link #abandon}.
   *
   * @param head the request as it goes upstream; called only when a copy is to be made, and the
   *             head it returns becomes this mirror's (the caller must not change it afterwards)
   */
  public static RequestMirror start(List<MirrorPolicy> policies, Duration routeTimeout, ServingSnapshot snapshot,
      StatsRegistry stats, Transport transport, EventLoop loop, long declaredLength,
      java.util.function.Supplier<ShadowHead> head) {
    if (policies.isEmpty()) {
      return null;
    }
    List<Target> targets = null;
    for (MirrorPolicy p : policies) {
      if (p.perMillion() < MirrorPolicy.ALL && ThreadLocalRandom.current().nextInt(MirrorPolicy.ALL) >= p.perMillion()) {
        continue;
      }
      MirrorCounters counters = MirrorCounters.of(stats, p.cluster());
      ServingCluster c = snapshot.cluster(p.cluster());
      if (c == null || c.config().endpoints().isEmpty()) {
        counters.failed().increment();
        continue;
      }
      if (declaredLength > MAX_BODY_BYTES) {
        counters.tooLarge().increment();
        continue;
      }
      if (targets == null) {
        targets = new ArrayList<>(policies.size());
      }
      targets.add(new Target(c, counters));
    }
    if (targets == null) {
      return null;
    }
    return new RequestMirror(head.get(), targets, loop, transport, routeTimeout);
  }

  /**
   * Copies a body chunk (the chunk itself is left as it was). Returns false when the body outgrew
   * {@link #MAX_BODY_BYTES}: the copy is dropped, counted, and this mirror must not be used again.
   */
  public boolean onBody(ByteBuf chunk) {
    int n = chunk.readableBytes();
    if (n == 0) {
      return true;
    }
    int held = body == null ? 0 : body.readableBytes();
    if (held + n > MAX_BODY_BYTES) {
      targets.forEach(t -> t.counters().tooLarge().increment());
      abandon();
      return false;
    }
    if (body == null) {
      body = ByteBufAllocator.DEFAULT.buffer(Math.max(n, 256));
    }
    body.writeBytes(chunk, chunk.readerIndex(), n);
    return true;
  }

  /** The request ended: sends the copy to each shadow. This mirror is spent afterwards. */
  public void onComplete() {
    for (Target t : targets) {
      send(t);
    }
    if (body != null) {
      body.release();
      body = null;
    }
  }

  /** The exchange ended without a complete request (client gone, local reply): nothing is sent. */
  public void abandon() {
    if (body != null) {
      body.release();
      body = null;
    }
  }

  private void send(Target t) {
    List<EndpointConfig> endpoints = t.cluster().config().endpoints();
    EndpointConfig ep = endpoints.get(ThreadLocalRandom.current().nextInt(endpoints.size()));
    ChannelHandler exchange;
    Runnable connectFailed;
    if (t.cluster().config().http2Upstream()) {
      Http2Headers h2;
      try {
        h2 = H2ShadowExchange.headersOf(head, shadowHeaders());
      } catch (RuntimeException e) { // a field HTTP/2 cannot carry: this copy is not sent
        t.counters().failed().increment();
        return;
      }
      H2ShadowExchange x = new H2ShadowExchange(h2, body == null ? null : body.retainedDuplicate(), t.counters(), timeoutNanos);
      connectFailed = x::connectFailed;
      exchange = new ChannelInitializer<Channel>() {
        @Override
        protected void initChannel(Channel ch) {
          ch.pipeline().addLast(Http2FrameCodecBuilder.forClient()
              .initialSettings(Http2Settings.defaultSettings().pushEnabled(false)).build(), x);
        }
      };
    } else {
      ShadowExchange x = new ShadowExchange(encode(), t.counters(), timeoutNanos);
      connectFailed = x::connectFailed;
      exchange = x;
    }
    long connectTimeoutMs = Math.max(1, t.cluster().config().connectTimeout().toMillis());
    ChannelFuture f = transport.bindSource(new Bootstrap()
        .group(loop)
        .channel(transport.clientChannel())
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, connectTimeoutMs))
        .handler(exchange), t.cluster().config().sourceAddress()) // upstream_bind_config
        .connect(new InetSocketAddress(ep.host(), ep.port()));
    f.addListener(done -> {
      if (!done.isSuccess()) {
        connectFailed.run();
      }
    });
  }

  /** The head's fields as the shadow gets them: the shadow authority, framing for the copied body, no hop-by-hop. */
  private Http1Headers shadowHeaders() {
    Http1Headers h = new Http1Headers(head.headers().size() + 2);
    h.copyFrom(head.headers());
    h.set("host", ShadowHost.of(h.get("host")));
    h.remove("transfer-encoding");
    h.remove("content-length");
    h.remove("expect");
    h.remove("keep-alive");
    h.set("connection", "close");
    int bodyBytes = body == null ? 0 : body.readableBytes();
    if (bodyBytes > 0 || head.hasBody()) {
      h.set("content-length", Integer.toString(bodyBytes));
    }
    return h;
  }

  /** The HTTP/1.1 copy: the head with the shadow authority and a content-length framing the copied body; then the body. */
  private ByteBuf encode() {
    Http1Headers h = shadowHeaders();
    int bodyBytes = body == null ? 0 : body.readableBytes();
    ByteBuf out = ByteBufAllocator.DEFAULT.ioBuffer(256 + bodyBytes);
    head.encodeTo(out, h);
    if (bodyBytes > 0) {
      out.writeBytes(body, body.readerIndex(), bodyBytes);
    }
    return out;
  }
}
