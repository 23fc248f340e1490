package io.keelson.dataplane.mirror;

import io.keelson.dataplane.config.EndpointConfig;
import io.keelson.dataplane.config.MirrorPolicy;
import io.keelson.dataplane.edge.HopByHopHeaders;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Envoy's request mirroring for one exchange: copies the request as it is sent upstream (head after
 * the route's header mutations, body up to {@link #MAX_BODY_BYTES}) and, when the request has
 * ended, sends the copy to each sampled shadow cluster with the authority suffixed {@code -shadow},
 * fire and forget: the shadow's answer is discarded, and nothing it does (slow, dead, reset) reaches
 * the main exchange. A body over the bound is not mirrored; request trailers are copied. The copy is
 * an ordinary upstream request of the shadow cluster, handed to the event loop's {@link ShadowUpstreams}:
 * over the cluster's transport socket (TLS with its certificates, SAN checks and SNI, or cleartext),
 * HTTP/2 when the cluster has HTTP/2 protocol options, on pooled connections, within its circuit
 * breakers. Confined to the downstream connection's event loop; the shadow exchanges run on the same loop.
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
  private final ShadowUpstreams upstreams;
  private final long timeoutNanos;
  private ByteBuf body;

  private RequestMirror(ShadowHead head, List<Target> targets, EventLoop loop, ShadowUpstreams upstreams,
      Duration routeTimeout) {
    this.head = head;
    this.targets = targets;
    this.loop = loop;
    this.upstreams = upstreams;
    this.timeoutNanos = (routeTimeout.isZero() || routeTimeout.compareTo(MAX_SHADOW_TIME) > 0
        ? MAX_SHADOW_TIME : routeTimeout).toNanos();
  }

  /**
   * Starts mirroring an exchange whose route has {@code policies}; returns null (and allocates
   * nothing) when there are none or none samples this request.
   *
   * @param head       the request as it goes upstream (copied here; the caller keeps using it)
   * @param bodySoFar  body chunks received before routing finished (read, not consumed)
   * @param trailers   the trailers of a request that has already ended, or null
   * @param complete   the request has already ended: the copy is sent now and null is returned
   */
  public static RequestMirror start(List<MirrorPolicy> policies, Duration routeTimeout, ServingSnapshot snapshot,
      StatsRegistry stats, ShadowUpstreams upstreams, EventLoop loop, Http1Request head, Iterable<ByteBuf> bodySoFar,
      Http1Headers trailers, boolean complete) {
    if (policies.isEmpty()) {
      return null;
    }
    RequestMirror m = start(policies, routeTimeout, snapshot, stats, upstreams, loop, head.contentLength(),
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
      m.onComplete(trailers(trailers));
      return null;
    }
    return m;
  }

  /**
   * Starts mirroring a request of any protocol (an HTTP/2 stream's): samples the policies like
   * {@link #start(List, Duration, ServingSnapshot, StatsRegistry, ShadowUpstreams, EventLoop, Http1Request, Iterable, Http1Headers, boolean)}
   * and returns null when nothing is to be mirrored (or the declared body is over the bound, counted);
   * else the caller feeds it the body with {@link #onBody} and ends it with {@link #onComplete} or
   * {@link #abandon}.
   *
   * @param head the request as it goes upstream; called only when a copy is to be made, and the
   *             head it returns becomes this mirror's (the caller must not change it afterwards)
   */
  public static RequestMirror start(List<MirrorPolicy> policies, Duration routeTimeout, ServingSnapshot snapshot,
      StatsRegistry stats, ShadowUpstreams upstreams, EventLoop loop, long declaredLength,
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
    return new RequestMirror(head.get(), targets, loop, upstreams, routeTimeout);
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

  /**
   * The request ended: sends the copy to each shadow. This mirror is spent afterwards.
   *
   * @param trailers the request's trailers (read, not kept), or null for none
   */
  public void onComplete(HttpHeaders trailers) {
    for (Target t : targets) {
      send(t, trailers);
    }
    if (body != null) {
      body.release();
      body = null;
    }
  }

  /** HTTP/1.1 chunked trailers as {@link #onComplete} takes them; null for none (no allocation then). */
  public static HttpHeaders trailers(Http1Headers trailers) {
    if (trailers == null || trailers.isEmpty()) {
      return null;
    }
    HttpHeaders h = new io.netty.handler.codec.http.DefaultHttpHeaders();
    for (int i = 0; i < trailers.size(); i++) {
      h.add(trailers.name(i), trailers.value(i));
    }
    return h;
  }

  /** The exchange ended without a complete request (client gone, local reply): nothing is sent. */
  public void abandon() {
    if (body != null) {
      body.release();
      body = null;
    }
  }

  private void send(Target t, HttpHeaders trailers) {
    List<EndpointConfig> endpoints = t.cluster().config().endpoints();
    EndpointConfig ep = endpoints.get(ThreadLocalRandom.current().nextInt(endpoints.size()));
    FullHttpRequest copy;
    try {
      copy = copy(trailers, io.keelson.dataplane.tls.ClientTls.inMesh(t.cluster().config().tls()));
    } catch (IllegalArgumentException e) { // a method, field or trailer the codecs refuse: this copy is not sent
      t.counters().failed().increment();
      return;
    }
    upstreams.send(loop, t.cluster(), ep, copy, t.counters(), timeoutNanos);
  }

  /**
   * The copy as the shadow gets it: the shadow authority, the copied body framed by content-length (or
   * chunked, when there are trailers), no hop-by-hop fields, and this proxy's metadata exchange headers only for an
   * in-mesh shadow cluster ({@code inMesh}); the connection stays open for reuse.
   */
  private FullHttpRequest copy(HttpHeaders trailers, boolean inMesh) {
    boolean withTrailers = trailers != null && !trailers.isEmpty();
    int bodyBytes = body == null ? 0 : body.readableBytes();
    ByteBuf content = bodyBytes == 0 ? Unpooled.EMPTY_BUFFER : body.retainedDuplicate();
    DefaultFullHttpRequest r;
    try {
      r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(head.method()), head.target(), content);
      HttpHeaders h = r.headers();
      Http1Headers src = head.headers();
      String connection = HopByHopHeaders.options(src.getAll("connection"));
      for (int i = 0; i < src.size(); i++) {
        String name = src.name(i);
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        if (lower.equals("te")) {
          if (src.value(i).toLowerCase(java.util.Locale.ROOT).contains("trailers")) {
            h.set("te", "trailers"); // the one TE HTTP/2 carries (gRPC needs it)
          }
        } else if (!HopByHopHeaders.isHopByHop(lower, connection) && !FRAMED_HERE.contains(lower)) {
          h.add(name, src.value(i));
        }
      }
      h.set("host", ShadowHost.of(src.get("host")));
      if (!inMesh) { // the main request's cluster is in the mesh, the shadow not: no workload metadata to it
        io.keelson.dataplane.stats.PeerMetadata.removeFrom(h);
      }
      if (withTrailers) {
        h.set("transfer-encoding", "chunked");
        r.trailingHeaders().add(trailers);
      } else if (bodyBytes > 0 || head.hasBody()) {
        h.set("content-length", Integer.toString(bodyBytes));
      }
    } catch (RuntimeException e) {
      content.release();
      throw e instanceof IllegalArgumentException iae ? iae : new IllegalArgumentException(e);
    }
    return r;
  }

  /** Besides the hop-by-hop fields: those the copy sets itself (authority, framing) or that ask the client's hop. */
  private static final java.util.Set<String> FRAMED_HERE = java.util.Set.of("host", "content-length", "expect");
}
