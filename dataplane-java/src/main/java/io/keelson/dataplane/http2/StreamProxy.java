package io.keelson.dataplane.http2;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.http1.ExchangeObserver;
import io.keelson.dataplane.http1.PolicyVerdicts;
import io.keelson.dataplane.pipeline.EventFiller;
import io.keelson.dataplane.resilience.RetryHeaders;
import io.keelson.dataplane.resilience.RetryState;
import io.keelson.dataplane.resilience.RouterTimingHeaders;
import io.keelson.dataplane.resilience.TimeoutHeaders;
import io.keelson.dataplane.routing.RoutingCallback;
import io.keelson.dataplane.routing.RoutingEvent;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.routing.ServingListener;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.IstioDestination;
import io.keelson.dataplane.stats.ResponseFlag;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/2 stream from a downstream client, as Netty HTTP objects: routes its head on the same
 * pipeline as HTTP/1.1, opens an upstream channel (pooled HTTP/1.1 connection or a stream on a
 * multiplexed HTTP/2 connection) and relays both ways. Flow control is end to end: a side that is not
 * writable stops reads on the other, and a child stream channel that is not read does not return
 * window to its peer. gRPC calls get gRPC answers when the proxy fails them.
 *
 * <p>Threading: the stream channel's event loop (its connection's), except {@link #onRouted}, which a
 * ring pipeline calls from its balance thread; it copies the decision and hops back.
 */
final class StreamProxy extends ChannelInboundHandlerAdapter
    implements RoutingCallback, EventFiller<RoutingEvent, StreamProxy>, UpstreamOwner {
  static final String NO_HEALTHY_UPSTREAM = "no healthy upstream";
  /** A routing stage (route match, an HTTP filter, the balancer) threw on the request. */
  static final String ROUTING_FAILED = "internal error while routing the request";
  static final String CONNECT_FAILURE =
      "upstream connect error or disconnect/reset before headers. reset reason: connection failure";
  static final String RESET_BEFORE_HEADERS =
      "upstream connect error or disconnect/reset before headers. reset reason: connection termination";
  /** Envoy's body when the upstream reset the stream with REFUSED_STREAM before the response (flag UR). */
  static final String REFUSED_STREAM_RESET =
      "upstream connect error or disconnect/reset before headers. reset reason: remote refused stream reset";
  /** Envoy's body when the upstream reset the stream with another code before the response (flag UR). */
  static final String REMOTE_RESET =
      "upstream connect error or disconnect/reset before headers. reset reason: remote reset";
  static final String UPSTREAM_TIMEOUT = "upstream request timeout";
  static final String STREAM_TIMEOUT = "stream timeout";
  static final String OVERFLOW = "upstream connect error or disconnect/reset before headers. reset reason: overflow";
  /** Envoy's header on a reply to a request a circuit breaker refused (flag UO). */
  static final String OVERLOADED_HEADER = "x-envoy-overloaded: true\r\n";

  private enum State { WAITING_HEAD, ROUTING, CONNECTING, FORWARDING, DONE }

  private final ServerStreams streams;
  private final Runnable decisionTask = this::onDecision;
  private Channel down;
  private Channel up;
  private State state = State.WAITING_HEAD;

  private H2RequestHead head;
  private HttpRequest request;
  private boolean grpc;
  /** The Location of a redirect reply, else null. */
  private String location;
  private long grpcTimeoutNanos;
  private boolean requestEndedWithHead;
  private boolean requestComplete;
  private boolean responseStarted;
  /** The client sent RST_STREAM for this stream. */
  private boolean resetByClient;
  private boolean responseComplete;
  private boolean responseKeepAlive;
  private boolean skippingInformational;
  private boolean upFlushPending;
  private boolean downFlushPending;
  private final ArrayDeque<HttpContent> pending = new ArrayDeque<>();
  /**
   * Request body bytes read while reading was paused: each read that watches for the client's reset
   * ({@link DownstreamCodec#watchReset}) may bring one body chunk instead, held (routing) or passed on (an upstream not
   * writable), and is asked again; past {@link #WATCHED_BODY_LIMIT} the stream stops watching and a reset is seen only
   * once reading resumes.
   */
  private int watchedBodyBytes;
  /** The request body a paused stream may read while it watches for a reset (per stream, over its whole life). */
  static final int WATCHED_BODY_LIMIT = 64 * 1024;
  /** envoy.filters.http.buffer: the decision waits for the rest of the body (read up to the filter's limit). */
  private boolean awaitingWholeBody;
  /** The body was buffered whole and goes on with a content-length. */
  private boolean bodyBuffered;
  /** The body length the client declared (content-length, checked against its DATA frames) or buffered, else -1. */
  private long bodyLength = -1;
  /** The response body's codings (compressor, decompressor) when some filter's transforms it, else null. */
  private io.keelson.dataplane.filter.CodedBody responseBody;
  /** The request body's codings (compressor, decompressor) when some filter's transforms it, else null. */
  private io.keelson.dataplane.filter.CodedBody requestBody;
  /** ext_proc STREAMED: the request body's chunks go through this, and its end after them; else null. */
  private io.keelson.dataplane.filter.StreamedBodyCheck.Body requestStream;
  /** The response body's, likewise. */
  private io.keelson.dataplane.filter.StreamedBodyCheck.Body responseStream;
  /**
   * A streamed body's own pause of the client's reads (the request's) or the upstream's (the response's), held apart
   * from the writability pauses: those resume reading when the other side drains, this only by its body.
   */
  private boolean requestStreamPaused;
  private boolean responseStreamPaused;
  /** The trailers of a streamed request's or response's end, held until its last chunk's answer. */
  private HttpHeaders streamedRequestTrailers;
  private HttpHeaders streamedResponseTrailers;
  /** The request's or response's end while its trailers are checked (ext_proc trailers SEND), or null. */
  private io.keelson.dataplane.filter.HeldTrailers<LastHttpContent> requestEnd;
  private io.keelson.dataplane.filter.HeldTrailers<LastHttpContent> responseEnd;
  /** The request codings were chosen (a retry's decision keeps the coded request as it is). */
  private boolean requestCodingChosen;
  /** request_mirror_policies: the copy of this stream's request for the shadow clusters. */
  private final StreamMirror mirror = new StreamMirror();

  private ServingSnapshot snapshot;
  private ServingListener listener;
  private boolean decided;
  private boolean policyDelayDone;
  /** The filters' external check (ext_authz) of the request was started. */
  private boolean externalCheckStarted;
  /** The outstanding external check, cancelled when the stream ends without its answer (reset, timeout, reply). */
  private UpstreamCalls.Call externalCheck = UpstreamCalls.Call.ENDED;
  /**
   * The final response (head, then what followed it) while a filter's response check (ext_proc) runs, its call in
   * {@link #externalCheck}; or null.
   */
  private HeldResponse held;
  private VirtualHostConfig virtualHost;
  private RouteEntry route;
  /** The route's Forward action with this request's timeout headers applied; null until it is forwarded. */
  private RouteAction.Forward forwarding;
  /** The request carried x-envoy-upstream-rq-timeout-ms or -per-try-timeout-ms (removed before forwarding). */
  private boolean timeoutHeaders;
  private RouteAction.WeightedCluster weightedCluster;
  private ServingCluster cluster;
  private LoadBalancer balancer;
  private int endpoint;
  private boolean endpointAccounted;

  private long startNanos;
  /** When the router had the whole request (the route timeout's start), else INCOMPLETE: x-envoy-upstream-service-time. */
  private long requestCompleteNanos = RouterTimingHeaders.INCOMPLETE;
  /** The timeout the stream runs under in ms (route timeout or a shorter grpc-timeout), 0 for none. */
  private long timeoutMs;
  private long lastActivityNanos;
  private long requestBytes;
  private long responseBytes;
  private int responseStatus;
  private ResponseFlag flag = ResponseFlag.NONE;
  private boolean recorded;
  private boolean endpointTried;
  /** The downstream address of this stream's request (the peer's or an x-forwarded-for entry), and where it came from. */
  private String downstreamIp;
  private boolean downstreamFromXff;
  /** The request target as the client sent it (routing may rewrite the forwarded one). */
  private String uri;
  private final ExchangeObserver observer;

  // ---- circuit breakers, retries, outlier detection
  private final StreamResilience resilience = new StreamResilience();
  private final Runnable retryTask = this::publishRetry;
  private final Runnable perTryTimeoutTask = this::onPerTryTimeout;
  /** A retry waits for its backoff or its routing decision (route and cluster are kept). */
  private boolean retrying;
  /** The request is routed again: an external check cleared the route cache after changing headers. */
  private boolean rerouting;
  /** Counts tries, so that an upstream open that completes after its try was abandoned is recognised. */
  private int tries;
  private ScheduledFuture<?> perTryTimer;
  /** A terminated CONNECT: the tunnel this stream carries once its target is connected, else null. */
  private ConnectStream tunnel;
  /** An RFC 8441 extended CONNECT's upgrade type (its {@code :protocol}, e.g. websocket), else null. */
  private String upgradeType;
  /** The upstream 101's Sec-WebSocket-Accept for the key this proxy added to the upgrade GET, or null. */
  private String expectedAccept;
  /** The upgrade's upstream connection while it has not answered the upgrade GET, else null. */
  private Channel upgradeTarget;
  private ScheduledFuture<?> deadline;
  private ScheduledFuture<?> idleCheck;

  /** Istio's metadata exchange and the peer of this stream for its metrics. */
  private final io.keelson.dataplane.stats.PeerExchange peerExchange;

  StreamProxy(ServerStreams streams) {
    this.streams = streams;
    this.observer = new ExchangeObserver(streams.context());
    this.peerExchange = new io.keelson.dataplane.stats.PeerExchange(streams.context().stats());
  }

  // ======================================================================== downstream events

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    down = ctx.channel();
    startNanos = System.nanoTime();
    lastActivityNanos = startNanos;
    if (streams.streamIdleNanos() > 0) {
      idleCheck = down.eventLoop().schedule(this::checkIdle, streams.streamIdleNanos(), TimeUnit.NANOSECONDS);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    boolean watching = tunnel == null && msg instanceof HttpContent c && !(msg instanceof LastHttpContent)
        && !down.config().isAutoRead() && (watchedBodyBytes += c.content().readableBytes()) < WATCHED_BODY_LIMIT;
    onDownstreamRead(msg);
    if (watching && state != State.DONE && !down.config().isAutoRead()) {
      streams.codec.watchReset(down); // that read brought a body chunk, not the reset: watch on
    }
    // Flushed per read, not only at read-complete: a stream channel whose reads were paused and
    // resumed does not always see channelReadComplete, and a request end must never wait for it.
    if (upFlushPending && up != null) {
      upFlushPending = false;
      up.flush();
    }
  }

  private void onDownstreamRead(Object msg) {
    lastActivityNanos = System.nanoTime();
    if (tunnel != null && msg instanceof HttpContent c) {
      tunnel.fromClient(c);
      return;
    }
    if (msg instanceof HttpRequest r && state == State.WAITING_HEAD) {
      HttpContent body = null;
      if (r instanceof FullHttpRequest full) {
        requestEndedWithHead = true;
        requestComplete = true;
        request = new DefaultHttpRequest(full.protocolVersion(), full.method(), full.uri(), full.headers());
        body = new DefaultLastHttpContent(full.content(), full.trailingHeaders());
      } else {
        request = r;
      }
      onHead();
      if (body != null) {
        onBody(body);
      }
      return;
    }
    if (msg instanceof HttpContent c) {
      onBody(c);
      return;
    }
    ReferenceCountUtil.release(msg);
  }

  /** Stops reading the request (it waits in the stream, bounded by its window) but still sees the client's reset. */
  private void pauseRequestReading() {
    down.config().setAutoRead(false);
    streams.codec.watchReset(down);
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    if (upFlushPending && up != null) {
      upFlushPending = false;
      up.flush();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (tunnel != null) {
      tunnel.onClientWritable(ctx.channel().isWritable());
      return;
    }
    if (up != null && held == null && ctx.channel().isWritable()) {
      readUpstream(true);
    }
  }

  /** The upstream's reads on or off; never on while a streamed response body holds them paused. */
  private void readUpstream(boolean on) {
    up.config().setAutoRead(on && !responseStreamPaused);
  }

  /** The client's reads on again, unless a streamed request body holds them paused ({@link StreamedSink#pause}). */
  private void resumeRequestReading() {
    if (!requestStreamPaused) {
      down.config().setAutoRead(true);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof Http2ResetFrame || evt == Http3RequestDecoder.CLIENT_RESET) {
      onClientReset(); // channelInactive follows and resets the upstream
    }
    ReferenceCountUtil.release(evt);
  }

  /**
   * The client cancelled the stream (HTTP/2 RST_STREAM; QUIC RESET_STREAM, seen when the stream reads: see
   * {@link DownstreamCodec#watchReset}): {@code downstream_rq_rx_reset}, and the
   * premature-reset check sees it when the stream closes.
   */
  private void onClientReset() {
    if (resetByClient) {
      return;
    }
    flag = ResponseFlag.DC;
    resetByClient = true;
    ServingListener counted = listener != null ? listener : streams.snapshot().listener(streams.listenerName());
    if (counted != null) {
      counted.stats().rqRxReset.increment();
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (streams.guard != null) {
      // Envoy's premature reset: the client reset the stream before any response head, soon after it opened.
      streams.guard.streamClosed(resetByClient && !responseStarted, System.nanoTime() - startNanos);
    }
    boolean cut = !responseComplete;
    if (cut && flag == ResponseFlag.NONE) {
      flag = ResponseFlag.DC;
    }
    state = State.DONE;
    cancelTimers();
    cancelExternalCheck();
    releasePending();
    mirror.abandon();
    if (responseBody != null) {
      responseBody.release();
      responseBody = null;
    }
    if (requestBody != null) {
      requestBody.release();
      requestBody = null;
    }
    if (tunnel != null) {
      tunnel.close(); // counts the bytes before the record below
    }
    if (upgradeTarget != null) {
      upgradeTarget.close(); // reset while the upstream had not answered the upgrade
    }
    if (up != null) {
      Channel u = up;
      up = null;
      if (cut && cluster != null) {
        cluster.stats().rqResetBeforeResponse.increment();
      }
      detachUpstream(u, false); // an HTTP/2 upstream stream is reset (CANCEL) by closing it
    }
    endUpstreamRequest();
    record();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  // ======================================================================== request side

  private void onHead() {
    ExpectContinue.answer(down, request, requestEndedWithHead);
    upgradeType = ExtendedConnect.protocol(request);
    if (upgradeType != null) {
      request = ExtendedConnect.asUpgrade(request, upgradeType); // routed and filtered as Envoy does: an upgrade GET
    }
    bodyLength = HttpUtil.getContentLength(request, -1L); // before any filter: the framing forwarded
    head = new H2RequestHead(request);
    uri = request.uri();
    grpc = GrpcReplies.isGrpc(request);
    grpcTimeoutNanos = grpc ? GrpcReplies.timeoutNanos(request.headers().get("grpc-timeout")) : 0;
    snapshot = streams.snapshot();
    listener = snapshot.listener(streams.listenerName());
    if (listener == null) {
      localReply(503, "listener removed", ResponseFlag.NONE);
      return;
    }
    if (upgradeType != null && !listener.config().http().http2().allowConnect()) {
      state = State.DONE; // :protocol without SETTINGS_ENABLE_CONNECT_PROTOCOL sent: malformed (RFC 8441 §3)
      resetDownstream(Http2Error.PROTOCOL_ERROR);
      return;
    }
    listener.stats().rqTotal.increment();
    streams.codec.countRequest(listener.stats());
    if (!normalizePath()) {
      return;
    }
    // Envoy's connection manager, before routing: the downstream address, internal or not, and the x-envoy-*
    // headers an external client may not set removed before the router reads them.
    Channel connection = down.parent() != null ? down.parent() : down;
    io.keelson.dataplane.edge.DownstreamAddress downstream = streams.downstream(connection);
    // The connection's TLS, not the listener's: a PERMISSIVE listener also serves plaintext h2c (Envoy: connection.ssl()).
    downstream.apply(request.headers(), NettyHeaderAccess.INSTANCE, listener.config().http(),
        io.keelson.dataplane.tls.TlsPipeline.isTls(connection));
    peerExchange.onHead(NettyHeaderAccess.INSTANCE, request.headers()); // before the filters, as Istio's exchange
    downstreamIp = downstream.address();
    downstreamFromXff = downstream.fromXff();
    pauseRequestReading(); // body waits in the stream (bounded by its window) until an upstream is attached
    state = State.ROUTING;
    if (!streams.context().pipelines().current().tryPublish(this, this)) {
      localReply(503, "routing pipeline full", ResponseFlag.LR);
      return;
    }
    if (decided && down.eventLoop().inEventLoop()) {
      onDecision();
    }
  }

  /**
   * Envoy's connection manager before any filter or route sees the request: its {@code :path} normalized as the
   * connection manager says (normalize_path, merge_slashes, path_with_escaped_slashes_action), the query untouched, and
   * forwarded so ({@link io.keelson.dataplane.edge.PathNormalizer#decide}). False when it answered instead: 400 for a
   * {@code :path} with a fragment (whatever the normalization) or a path it refuses, 307 to the unescaped path.
   */
  private boolean normalizePath() {
    io.keelson.dataplane.edge.PathDecision d = io.keelson.dataplane.edge.PathNormalizer.decide(
        listener.config().http().pathNormalization(), head.method(), head.path(), head.query(),
        request.headers().get(HttpHeaderNames.CONTENT_TYPE));
    if (!d.forwarded()) {
      d.count(listener.stats());
      localReply(d.status(), "", ResponseFlag.NONE, d.replyHeaders());
      return false;
    }
    if (d.path() != null) {
      request.setUri(head.query() == null ? d.path() : d.path() + "?" + head.query());
      head = new H2RequestHead(request);
      uri = request.uri();
    }
    return true;
  }

  @Override
  public void fill(RoutingEvent event, StreamProxy self) {
    event.head = head;
    event.snapshot = snapshot;
    event.listener = listener;
    event.callback = this;
    // For RBAC: the connection's verified peer SPIFFE ID (cached per connection) and addresses.
    Channel connection = down.parent() != null ? down.parent() : down;
    event.peerPrincipal = io.keelson.dataplane.tls.ForwardClientCert.peerSpiffeUri(connection);
    event.remoteAddress = io.keelson.dataplane.intercept.RemoteAddress.of(connection);
    event.peerAddress = io.keelson.dataplane.intercept.RemoteAddress.peer(connection);
    event.remoteIp = downstreamIp; // the peer, or the trusted x-forwarded-for entry
    event.remoteIpFromXff = downstreamFromXff;
    event.localAddress = io.keelson.dataplane.intercept.OriginalDestination.localAddress(connection); // restored, if redirected
    if (retrying) {
      event.retryCluster = cluster;
      event.hostPredicate = resilience.retry;
    }
    event.reroute = rerouting;
  }

  /**
   * The ORIGINAL_DST host of this stream's request: the address in the cluster's use_http_header header when it
   * names one, else the connection's original destination (none when the connection was not redirected: 503 UH).
   */
  private io.keelson.dataplane.balance.LoadBalancer originalDstHost() {
    String header = io.keelson.dataplane.intercept.OriginalDstHost.header(cluster.config().originalDst());
    if (header != null) {
      var named = io.keelson.dataplane.intercept.OriginalDstHost.fromHeader(request.headers().get(header));
      if (named != null) {
        return named;
      }
    }
    return io.keelson.dataplane.intercept.OriginalDstHost.of(down.parent() != null ? down.parent() : down);
  }

  /** A routing stage threw on this stream's request (written with the decision). */
  private boolean routeFailed;
  /** The HTTP filters' verdict, copied out of the routing event. */
  private final io.keelson.dataplane.filter.FilterContext policy = new io.keelson.dataplane.filter.FilterContext();

  @Override
  public void onRouted(RoutingEvent event) {
    routeFailed = event.failure != null;
    if (!retrying) { // a retry keeps its route and cluster
      virtualHost = event.virtualHost;
      route = event.route;
      weightedCluster = event.weightedCluster;
      cluster = event.cluster;
      if (!rerouting) { // a reroute keeps the filters' verdict: they ran for the request already
        policy.copyVerdict(event.policy);
      }
    }
    balancer = event.balancer;
    endpoint = event.endpoint;
    if (down.eventLoop().inEventLoop()) {
      decided = true;
    } else {
      down.eventLoop().execute(decisionTask);
    }
  }

  /** Starts the filters' external check (ext_authz); the decision goes on when it answers, if the stream still waits. */
  private void startExternalCheck() {
    Channel connection = down.parent() != null ? down.parent() : down;
    io.netty.handler.codec.http.HttpHeaders headers = request.headers();
    // The filters before the check changed headers (jwt_authn: the token removed, claims set): the check sees the
    // request as they left it, as Envoy's filters edit headers in place; applied once, not again when forwarded.
    ForwardedHeaders.apply(headers, policy.requestHeaders());
    policy.mutateRequestHeaders(null);
    externalCheck = policy.externalCheck().start(new io.keelson.dataplane.filter.CheckedRequest(down.eventLoop(),
        streams.upstreams().get().calls(), snapshot, head, fieldsOf(headers), requestEndedWithHead || bodyLength == 0, downstreamIp, io.keelson.dataplane.intercept.RemoteAddress.of(connection),
        io.keelson.dataplane.intercept.OriginalDestination.localAddress(connection), io.keelson.dataplane.tls.TlsPipeline.isTls(connection),
        io.keelson.dataplane.tls.ForwardClientCert.peerSpiffeUri(connection)), this::onExternalCheck);
  }

  private void onExternalCheck(io.keelson.dataplane.filter.CheckOutcome outcome) {
    externalCheck = UpstreamCalls.Call.ENDED;
    if (state != State.ROUTING) {
      return; // the stream ended (reset, timeout) while the check ran
    }
    if (!outcome.allowed()) {
      flag = outcome.flag();
      localReply(outcome.status(), outcome.body(), outcome.flag(), outcome.replyHeaders());
      return;
    }
    ForwardedHeaders.apply(request.headers(), outcome.upstreamHeaders());
    if (outcome.phases() != null) {
      outcome.phases().apply(policy); // ext_proc's mode_override: the later phases it turns on or off
    }
    if (outcome.responseHeaders() != null) {
      policy.addResponseHeaders(outcome.responseHeaders());
    }
    io.keelson.dataplane.filter.FilterChain.resume(policy); // the filters after ext_authz see the check's headers
    externalCheckStarted = policy.externalCheck() == null; // a later ext_authz asks again
    if (outcome.clearRouteCache()) {
      reroute();
      return;
    }
    onDecision();
  }

  /**
   * Routes the request again on the headers a check changed (ext_proc's clear_route_cache), as Envoy's router chooses
   * the route after its filters: route and balance run again, the filters' verdict stands; the decision then goes on.
   */
  private void reroute() {
    rerouting = true;
    if (!publishAgain()) {
      rerouting = false;
      localReply(503, "routing pipeline full", ResponseFlag.LR);
    }
  }

  /** Publishes the request to the routing pipeline again (a retry, a reroute); false when the pipeline is full. */
  private boolean publishAgain() {
    decided = false;
    if (!streams.context().pipelines().current().tryPublish(this, this)) {
      return false;
    }
    if (decided && down.eventLoop().inEventLoop()) {
      onDecision();
    }
    return true;
  }

  /** Starts the filters' check of the whole request body (read by {@link #wholeBodyRead}); the decision goes on after. */
  private void startBodyCheck(io.keelson.dataplane.filter.BodyCheck check) {
    java.util.List<ByteBuf> contents = new java.util.ArrayList<>(pending.size());
    for (HttpContent c : pending) {
      contents.add(c.content());
    }
    byte[] body = io.keelson.dataplane.filter.CheckedBody.copy(contents);
    io.netty.handler.codec.http.HttpHeaders headers = request.headers();
    externalCheck = check.start(new io.keelson.dataplane.filter.CheckedBody(down.eventLoop(),
        streams.upstreams().get().calls(), snapshot, fieldsOf(headers), body), this::onBodyCheck);
  }

  private void onBodyCheck(io.keelson.dataplane.filter.CheckOutcome outcome) {
    externalCheck = UpstreamCalls.Call.ENDED;
    if (state != State.ROUTING) {
      return; // the stream ended (reset, timeout) while the check ran
    }
    if (!outcome.allowed()) {
      localReply(outcome.status(), outcome.body(), outcome.flag(), outcome.replyHeaders());
      return;
    }
    ForwardedHeaders.apply(request.headers(), outcome.upstreamHeaders());
    byte[] replacement = outcome.replacementBody();
    if (replacement != null) {
      releasePending();
      pending.addLast(new io.netty.handler.codec.http.DefaultLastHttpContent(Unpooled.wrappedBuffer(replacement)));
      request.headers().set(HttpHeaderNames.CONTENT_LENGTH, replacement.length);
      bodyLength = replacement.length; // the framing forwarded (ForwardedHeaders.framing)
    }
    onDecision();
  }

  /**
   * envoy.filters.http.buffer: whether the whole body is here (while routing, every body byte read is held in
   * {@link #pending}), within the limit; then it goes on with a content-length. Else either reading the rest or, over
   * the limit, answered 413.
   */
  private boolean wholeBodyRead() {
    long limit = policy.bufferLimit();
    long declared = HttpUtil.getContentLength(request, -1L);
    if (declared > limit || requestBytes > limit) {
      payloadTooLarge();
      return false;
    }
    if (!requestComplete) {
      awaitingWholeBody = true;
      down.config().setAutoRead(true);
      return false;
    }
    awaitingWholeBody = false;
    bodyBuffered = true;
    request.headers().remove(HttpHeaderNames.TRANSFER_ENCODING);
    request.headers().set(HttpHeaderNames.CONTENT_LENGTH, requestBytes);
    bodyLength = requestBytes;
    return true;
  }

  /** Envoy's buffer filter over max_request_bytes: 413 (the rest of the stream is read and dropped). */
  private void payloadTooLarge() {
    awaitingWholeBody = false;
    localReply(413, "Payload Too Large", ResponseFlag.NONE);
  }

  private void onDecision() {
    if (state != State.ROUTING) {
      return;
    }
    rerouting = false; // its decision arrived (onRouted kept the filters' verdict)
    if (cluster != null && cluster.config().isOriginalDst()) {
      balancer = originalDstHost(); // the host is the connection's original destination, not a balancer's pick
      endpoint = balancer.pick();
    }
    if (routeFailed) {
      retrying = false;
      localReply(500, ROUTING_FAILED, ResponseFlag.NONE);
      return;
    }
    if (retrying) {
      retrying = false;
      if (endpoint < 0) {
        cluster.stats().noHealthyUpstream.increment();
        routerReply(503, NO_HEALTHY_UPSTREAM, ResponseFlag.UH, null);
      } else {
        io.keelson.dataplane.filter.statefulsession.SessionHosts.retriedOn(policy, cluster.config(), endpoint);
        startTry();
      }
      return;
    }
    if (isConnect() && !io.keelson.dataplane.http1.ConnectTunnel.allowed(listener.config().http())) {
      localReply(403, "", ResponseFlag.NONE); // Envoy: CONNECT is an upgrade the connection manager is not configured for
      return;
    }
    // The HTTP filters' verdict: a delay (fault injection), a local reply with its extra headers, a flag.
    if (policy.delayNanos() > 0 && !policyDelayDone) {
      policyDelayDone = true;
      down.eventLoop().schedule(decisionTask, policy.delayNanos(), TimeUnit.NANOSECONDS);
      return;
    }
    // envoy.filters.http.buffer: the whole body first, so an oversized one gets its 413 before an external check
    // (ext_authz, ext_proc) is asked, as Envoy's buffer filter stops the chain before the filters after it.
    if (policy.bufferLimit() > 0 && !bodyBuffered && !policy.hasLocalReply() && !wholeBodyRead()) {
      return; // onBody decides again at the end of the stream
    }
    if (policy.externalCheck() != null && !externalCheckStarted) {
      externalCheckStarted = true;
      startExternalCheck();
      return;
    }
    if (policy.flag() != ResponseFlag.NONE) {
      flag = policy.flag();
    }
    if (policy.hasLocalReply()) { // a filter's answer (health_check's 503: LH)
      localReply(policy.status(), policy.body(), policy.flag(), policy.replyHeaders());
      return;
    }
    if (policy.bufferLimit() > 0 && !bodyBuffered && !wholeBodyRead()) {
      return; // onBody decides again at the end of the stream
    }
    io.keelson.dataplane.filter.BodyCheck bodyCheck = policy.takeRequestBodyCheck();
    if (bodyCheck != null && requestBytes > 0) { // as Envoy, no body message for no body
      startBodyCheck(bodyCheck);
      return;
    }
    if (route == null) {
      localReply(404, "", ResponseFlag.NR);
      return;
    }
    switch (route.action()) {
      case RouteAction.DirectResponse direct -> localReply(direct.status(), direct.body(), ResponseFlag.DR, null, true);
      case RouteAction.Redirect redirect -> {
        location = io.keelson.dataplane.http1.Redirects.location(redirect, head, route.match().matchedPrefixLength(head));
        localReply(redirect.status(), new byte[0], ResponseFlag.NONE, null, true);
      }
      case RouteAction.Forward forward -> forward(requestTimeouts(forward));
    }
  }

  /**
   * The route's action with this request's x-envoy-upstream-rq-timeout-ms / -per-try-timeout-ms applied (Envoy's
   * router takes its timeouts from them); {@link #forward} removes them from the forwarded request, as Envoy does.
   */
  private RouteAction.Forward requestTimeouts(RouteAction.Forward forward) {
    String timeout = head.header(TimeoutHeaders.UPSTREAM_RQ_TIMEOUT_MS);
    String perTry = head.header(TimeoutHeaders.UPSTREAM_RQ_PER_TRY_TIMEOUT_MS);
    timeoutHeaders = timeout != null || perTry != null;
    forwarding = timeoutHeaders ? TimeoutHeaders.apply(forward, timeout, perTry) : forward;
    return forwarding;
  }

  private void forward(RouteAction.Forward forward) {
    if (cluster == null) {
      routerReply(503, "cluster not found", ResponseFlag.NC, null);
      return;
    }
    if (io.keelson.dataplane.filter.grpcjson.GrpcJsonUpstreamCodec.refuses(policy.transcoded(), cluster.config())) {
      cluster.stats().transcoderNotHttp2.increment();
      routerReply(503, io.keelson.dataplane.filter.grpcjson.GrpcJsonUpstreamCodec.NOT_HTTP2, ResponseFlag.NONE, null);
      return;
    }
    if (endpoint < 0) {
      cluster.stats().noHealthyUpstream.increment();
      routerReply(503, NO_HEALTHY_UPSTREAM, ResponseFlag.UH, null);
      return;
    }
    if (isConnect() && io.keelson.dataplane.http1.ConnectTunnel.disabled(forward)) {
      localReply(403, "", ResponseFlag.NONE);
      return;
    }
    if (upgradeType != null && !io.keelson.dataplane.http1.UpgradeTunnel.permitted(upgradeType, listener.config().http(), forward)) {
      localReply(403, "", ResponseFlag.NONE); // Envoy: upgrade_failed
      return;
    }
    if (!resilience.admit(cluster, forward, head)) {
      routerReply(503, OVERFLOW, ResponseFlag.UO, overloadedHeader());
      return;
    }
    boolean proxiedConnect = isConnect() && io.keelson.dataplane.http1.ConnectTunnel.proxies(forward);
    if (isConnect() && !proxiedConnect) {
      openConnectTunnel(forward, null);
      return;
    }
    long routeNanos = forward.timeout().toNanos();
    long timeout = grpcTimeoutNanos > 0 && (routeNanos == 0 || grpcTimeoutNanos < routeNanos) ? grpcTimeoutNanos : routeNanos;
    timeoutMs = TimeUnit.NANOSECONDS.toMillis(timeout);
    if (!proxiedConnect) {
      streamRequestBody();
    }
    if (requestComplete) {
      requestCompleteNanos = System.nanoTime();
    }
    if (!proxiedConnect && !codeRequestBody()) {
      return;
    }
    ForwardedHeaders.prepareRequest(request, head, requestEndedWithHead || upgradeType != null || proxiedConnect,
        cluster.config().http2Upstream(), listener.config().http(), virtualHost, route, forward, weightedCluster, timeoutMs);
    if (timeoutHeaders) {
      request.headers().remove(TimeoutHeaders.UPSTREAM_RQ_TIMEOUT_MS);
      request.headers().remove(TimeoutHeaders.UPSTREAM_RQ_PER_TRY_TIMEOUT_MS);
    }
    ForwardedHeaders.apply(request.headers(), policy.requestHeaders()); // e.g. jwt_authn: token removed, payload added
    ForwardedHeaders.framing(request.headers(), requestEndedWithHead || upgradeType != null || proxiedConnect,
        upgradeType != null || proxiedConnect ? -1 : bodyLength, cluster.config().http2Upstream());
    io.keelson.dataplane.filter.CodedBody.onForwardedRequest(policy, NettyHeaderAccess.INSTANCE, request.headers());
    // x-forwarded-client-cert from the connection's TLS session (h2c: none), as on HTTP/1.1; every try
    // (HTTP/1.1 or HTTP/2 upstream) and the mirror copy send these headers.
    listener.config().http().forwardClientCert().apply(down.parent(), request.headers());
    peerExchange.onRequest(NettyHeaderAccess.INSTANCE, request.headers(), cluster.name(),
        io.keelson.dataplane.tls.ClientTls.inMesh(cluster.config().tls(balancer.endpoint(endpoint))),
        io.keelson.dataplane.accesslog.DownstreamTls.of(down.parent() != null ? down.parent() : down).peerUriSan());
    io.keelson.dataplane.stats.IstioMetricsConfig metrics = listener.filters().istioMetrics();
    boolean addresses = metrics != null && metrics.needsAddresses();
    peerExchange.onRequestTags(metrics, NettyHeaderAccess.INSTANCE, request.headers(), request.method().name(), uri,
        addresses ? io.keelson.dataplane.intercept.RemoteAddress.of(down.parent()) : null,
        addresses ? io.keelson.dataplane.intercept.OriginalDestination.localAddress(down.parent()) : null);
    if (upgradeType == null && !proxiedConnect) { // an upgrade or a CONNECT is not mirrored (as on HTTP/1.1)
      mirror.start(forward, snapshot, streams, down.eventLoop(), request, requestEndedWithHead, pending);
    }
    observer.trace(listener.config().http().tracing(), head, streams.codec.protocol, request.headers()::set, startNanos, downstreamIp); // the connection manager's downstream address
    if (upgradeType != null) {
      openUpgradeTunnel();
      return;
    }
    if (proxiedConnect) {
      openProxiedConnect(forward);
      return;
    }
    if (timeout > 0 && (grpcTimeoutNanos > 0 || requestComplete)) {
      startDeadline(timeout);
    }
    startTry();
  }

  /**
   * The filters' request body codings, chosen once on the head as the filters left it (before the router's header
   * changes: without a content-length an HTTP/1.1 upstream gets the body chunked); what was read already is coded now.
   * False when the body was refused.
   */
  private boolean codeRequestBody() {
    if (requestCodingChosen || requestEndedWithHead || upgradeType != null || isConnect()) {
      return true;
    }
    requestCodingChosen = true;
    requestBody = io.keelson.dataplane.filter.CodedBody.request(policy, NettyHeaderAccess.INSTANCE, request.headers());
    if (requestBody != null) {
      bodyLength = -1; // a coded body's length is not known: chunked to an HTTP/1.1 upstream
    }
    for (int i = 0, n = requestBody == null ? 0 : pending.size(); i < n; i++) {
      HttpContent c = pending.pollFirst();
      HttpContent coded = codeRequestChunk(c, c instanceof LastHttpContent);
      if (coded == null) {
        return false;
      }
      pending.addLast(coded);
    }
    return true;
  }

  /**
   * ext_proc STREAMED request body: from here on its chunks go through the processor before they go on (without a
   * content-length, as their size may change), and the request's end after the last one's answer; what was read while
   * the request was routed goes first, the end too if it came already.
   */
  private void streamRequestBody() {
    io.keelson.dataplane.filter.StreamedBodyCheck check = policy.takeRequestBodyStream();
    if (check == null || requestEndedWithHead || upgradeType != null || isConnect()) {
      return;
    }
    bodyLength = -1;
    requestStream = check.start(down.eventLoop(), streams.upstreams().get().calls(), snapshot, new StreamedSink(false));
    requestComplete = false;
    for (int i = 0, n = pending.size(); i < n && requestStream != null; i++) {
      offerRequestChunk(pending.pollFirst());
    }
  }

  private void offerRequestChunk(HttpContent c) {
    boolean trailers = false;
    if (c instanceof LastHttpContent l) {
      streamedRequestTrailers = l.trailingHeaders();
      trailers = !l.trailingHeaders().isEmpty();
    }
    requestStream.offer(c.content(), c instanceof LastHttpContent, trailers); // c's content is all it holds
  }

  /** A chunk a STREAMED processor sent back, as the message it goes on in ({@code trailers} on the last). */
  private static HttpContent streamedChunk(ByteBuf chunk, boolean last, HttpHeaders trailers) {
    if (!last) {
      return new io.netty.handler.codec.http.DefaultHttpContent(chunk);
    }
    DefaultLastHttpContent end = new DefaultLastHttpContent(chunk);
    if (trailers != null) {
      end.trailingHeaders().set(trailers);
    }
    return end;
  }

  /**
   * The stream's side of a STREAMED body ({@link io.keelson.dataplane.filter.StreamedBodyCheck}): what comes back goes
   * on where the chunk was going; calls after the exchange ended are dropped.
   */
  private final class StreamedSink implements io.keelson.dataplane.filter.StreamedBodyCheck.Sink {
    private final boolean response;

    StreamedSink(boolean response) {
      this.response = response;
    }

    @Override
    public void forward(ByteBuf chunk, boolean last) {
      if (state == State.DONE || (response ? responseStream == null : requestStream == null)) {
        chunk.release();
        return;
      }
      if (!last && !chunk.isReadable()) {
        chunk.release();
        return;
      }
      if (response) {
        if (last) {
          responseStream = null;
        }
        relayBody(streamedChunk(chunk, last, streamedResponseTrailers), last);
        if (!last) {
          down.flush();
        }
        return;
      }
      if (last) {
        requestStream = null;
      }
      onProcessedBody(streamedChunk(chunk, last, streamedRequestTrailers));
      if (up != null && upFlushPending) {
        upFlushPending = false;
        up.flush();
      }
    }

    @Override
    public void denied(io.keelson.dataplane.filter.CheckOutcome outcome) {
      if (state == State.DONE) {
        return;
      }
      requestStream = null;
      responseStream = null;
      if (response || responseStarted) {
        flag = ResponseFlag.UPE;
        resetDownstream(Http2Error.INTERNAL_ERROR); // the response head went: cut, as Envoy resets the stream
        return;
      }
      closeUpstream();
      endUpstreamRequest();
      localReply(outcome.status(), outcome.body(), outcome.flag(), outcome.replyHeaders());
    }

    @Override
    public void pause() {
      if (!response) {
        requestStreamPaused = true;
        pauseRequestReading(); // the client's window is not returned while it waits
      } else if (up != null) {
        responseStreamPaused = true;
        up.config().setAutoRead(false);
      }
    }

    @Override
    public void resume() {
      if (state == State.DONE) {
        return;
      }
      if (!response) {
        requestStreamPaused = false;
        if (up == null || up.isWritable()) {
          resumeRequestReading();
        }
      } else {
        responseStreamPaused = false;
        if (up != null && !responseComplete) {
          readUpstream(down.isWritable());
        }
      }
    }
  }

  /**
   * One request body message through the codings: the message to pass on instead of {@code c}, or null when they
   * refuse the body (a corrupt gzip body: 400, a decompression bomb: 413; the upstream stream is reset).
   */
  private HttpContent codeRequestChunk(HttpContent c, boolean last) {
    ByteBuf out;
    try {
      out = requestBody.apply(c.content().retain(), last, down.alloc());
    } catch (io.keelson.dataplane.filter.BodyStage.BodyCodingException e) {
      requestBody = null; // released by apply
      c.release();
      closeUpstream();
      endUpstreamRequest();
      localReply(e.status(), e.status() == 413 ? "Payload Too Large" : "Bad Request", ResponseFlag.NONE);
      return null;
    }
    if (last) {
      requestBody = null; // released by its last chunk
    }
    return (HttpContent) recoded(c, out);
  }

  /**
   * An extended CONNECT's upgrade: its own TCP connection to the picked endpoint, where {@link UpgradeHandshake} sends
   * the HTTP/1.1 upgrade GET; on the upstream's 101 the client gets {@code :status 200} and {@link ConnectStream}
   * relays, as for a terminated CONNECT (its flow control, half-close and counters). To an HTTP/2 cluster with
   * allow_connect it stays extended CONNECT ({@link #openStreamTunnel}); one without cannot take it (503 UF, counted
   * as a connect failure). The route timeout does not apply (Envoy's router disables it for upgrades);
   * stream_idle_timeout does.
   */
  private void openUpgradeTunnel() {
    if (cluster.config().http2Upstream()) {
      if (cluster.config().http2().allowConnect()) {
        openStreamTunnel(ExtendedConnect.toHttp2(request, upgradeType,
            cluster.config().tls(balancer.endpoint(endpoint)) != null), false);
        return;
      }
      cluster.stats().cxConnectFail.increment();
      routerReply(503, CONNECT_FAILURE, ResponseFlag.UF, null);
      return;
    }
    ExtendedConnect.restoreUpgradeHeaders(request.headers(), upgradeType);
    expectedAccept = ExtendedConnect.completeWebSocketHandshake(request.headers(), upgradeType);
    openConnectTunnel(null, request); // no route timeout for an upgrade (Envoy), stream_idle_timeout applies
  }

  /**
   * A CONNECT the route proxies (no connect_config, Envoy's default): the CONNECT request, its forwarding rules applied,
   * goes to the cluster (to an HTTP/1.1 one on a connection of its own, to an HTTP/2 one as a CONNECT stream on the
   * pooled connections); its 2xx opens the tunnel, as an upgrade's 101 does, and any other answer is relayed with its
   * body. No retries or mirrors; the route timeout bounds the wait for a connection and its connect, as for a
   * terminated CONNECT.
   */
  private void openProxiedConnect(RouteAction.Forward forward) {
    if (cluster.config().http2Upstream()) {
      if (!forward.timeout().isZero()) {
        startDeadline(forward.timeout().toNanos()); // bounds the wait for the stream's answer; cancelled once open
      }
      openStreamTunnel(ProxiedConnect.toHttp2(request), true);
    } else {
      openConnectTunnel(forward, ProxiedConnect.toHttp1(request));
    }
  }

  private boolean isConnect() {
    return io.keelson.dataplane.route.RequestMatcher.isConnect(head);
  }

  /**
   * Envoy's CONNECT termination: a raw TCP connection to the picked endpoint (whatever the cluster's protocol; no
   * retries, no header rewrites, nothing of the request head sent), then {@link ConnectStream} relays. The breakers
   * are HTTP/1.1's: the CONNECT is a pending request ({@code max_pending_requests}, full: 503 UO) until its connection
   * is up; the connection takes a {@code max_connections} slot, held until it closes, and with none free the CONNECT
   * waits for one, bounded by the route timeout (504 UT). An open tunnel counts in {@code downstream_cx_upgrades_active}.
   *
   * @param forward        the CONNECT's route action, whose timeout bounds the wait for a slot and the connect; null
   *                       for an upgrade (no route timeout, as Envoy)
   * @param upgradeRequest an extended CONNECT's upgrade GET for an HTTP/1.1 upstream (the tunnel opens on its 101), or
   *                       null for a terminated CONNECT (the tunnel opens once connected)
   */
  private void openConnectTunnel(RouteAction.Forward forward, HttpRequest upgradeRequest) {
    startTunnelRequest();
    if (!resilience.acquirePending()) {
      endUpstreamRequest();
      routerReply(503, OVERFLOW, ResponseFlag.UO, overloadedHeader());
      return;
    }
    if (forward != null && !forward.timeout().isZero()) {
      startDeadline(forward.timeout().toNanos()); // bounds the wait for a slot and the connect; cancelled once open
    }
    connectTunnelTarget(upgradeRequest);
  }

  /** A tunnel's upstream exchange starts (a CONNECT's or an upgrade's; no retries): counted on the endpoint and cluster. */
  private void startTunnelRequest() {
    balancer.onRequestStart(endpoint);
    endpointAccounted = true;
    endpointTried = true;
    cluster.stats().rqTotal.increment();
    cluster.stats().rqActive.increment();
    state = State.CONNECTING;
  }

  /** Opens the CONNECT target's connection, or waits as pending for a {@code max_connections} slot. */
  private void connectTunnelTarget(HttpRequest upgradeRequest) {
    if (state != State.CONNECTING) {
      return; // woken after the stream ended or timed out
    }
    var breaker = resilience.breaker();
    if (!breaker.tryAcquireConnection(resilience.thresholds())) {
      resilience.awaitConnection(down.eventLoop(), () -> connectTunnelTarget(upgradeRequest));
      return;
    }
    ConnectStream t = newTunnel();
    ChannelHandler handlers = upgradeRequest == null ? t : UpgradeHandshake.pipeline(upgradeRequest, expectedAccept,
        new UpgradeHandshake.Listener() {
          @Override
          public void onSwitched(HttpResponse response) {
            onTunnelOpen(upgradeTarget, t, response.headers());
          }

          @Override
          public void onRefused(HttpResponse answer, ByteBuf body) {
            onUpgradeRefused(answer == null ? 0 : answer.status().code(), answer == null ? null : answer.headers(), body);
          }

          @Override
          public void onBadAccept(String accept) {
            onBadWebSocketAccept(accept);
          }
        }, t);
    ChannelFuture f = streams.upstreams().get().openTcp(down.eventLoop(), balancer.endpoint(endpoint), cluster, handlers);
    f.channel().closeFuture().addListener(x -> breaker.releaseConnection());
    f.addListener(x -> onTunnelConnected(f, t, upgradeRequest == null));
  }

  /** The relay of a tunnel this stream will carry, counted and timed as the stream's exchange. */
  private ConnectStream newTunnel() {
    return new ConnectStream(down, new ConnectStream.Listener() {
      @Override
      public void onTunnelClosed(long clientToTarget, long targetToClient) {
        requestBytes = clientToTarget; // DATA held before the 200 was counted by onBody and by the tunnel
        responseBytes += targetToClient;
        if (tunnel != null) { // it was opened (counted in onTunnelOpen)
          listener.stats().cxUpgradesActive.decrement();
        }
      }

      @Override
      public void onTunnelActivity() {
        lastActivityNanos = System.nanoTime();
      }
    });
  }

  /**
   * An upgrade to an HTTP/2 cluster with allow_connect (an RFC 8441 extended CONNECT), or a proxied CONNECT to an
   * HTTP/2 cluster: {@code connect} on a stream of the loop's pooled HTTP/2 connections to the picked endpoint
   * ({@link TunnelStreams}, as tcp_proxy's tunneling: a new connection takes a max_connections slot, none free is 503
   * UO at once); its {@code :status 200} (any 2xx for a proxied CONNECT, whose route timeout bounds the wait) opens the
   * tunnel, whose DATA frames {@code tcp.TunnelFrames} turns into bytes
   * for {@link ConnectStream} (END_STREAM both ways as half-close); another status is relayed with its body.
   */
  private void openStreamTunnel(io.netty.handler.codec.http2.Http2HeadersFrame connect, boolean proxiedConnect) {
    startTunnelRequest();
    ConnectStream t = newTunnel();
    io.netty.util.concurrent.Promise<Void> answered = down.eventLoop().newPromise();
    io.keelson.dataplane.tcp.TunnelFrames frames = new io.keelson.dataplane.tcp.TunnelFrames(answered,
        UpgradeHandshake.MAX_REFUSAL_BODY_BYTES, proxiedConnect); // a proxied CONNECT's tunnel opens on any 2xx
    Future<Channel> opened = TunnelStreams.open(streams.upstreams().get(), down.eventLoop(), balancer.endpoint(endpoint),
        cluster, resilience.breaker(), resilience.thresholds(), frames, t);
    if (opened == null) {
      cluster.stats().cxOverflow.increment();
      endUpstreamRequest();
      routerReply(503, OVERFLOW, ResponseFlag.UO, overloadedHeader());
      return;
    }
    opened.addListener(f -> {
      if (!f.isSuccess()) {
        answered.tryFailure(f.cause());
        return;
      }
      Channel stream = (Channel) f.getNow();
      if (state != State.CONNECTING) {
        stream.close(); // the client's stream ended while the upstream stream opened
        return;
      }
      upgradeTarget = stream;
      stream.config().setAutoRead(true); // the answer; ConnectStream.open takes over reading
      stream.writeAndFlush(connect).addListener(w -> {
        if (!w.isSuccess()) {
          stream.close(); // e.g. a header the codec refuses: the stream's close fails the answer
        }
      });
    });
    answered.addListener(r -> {
      if (r.isSuccess()) {
        onTunnelOpen(upgradeTarget, t, tunnelAnswerHeaders(frames.answer()));
      } else if (!opened.isSuccess()) {
        onTunnelConnected(opened, t, false); // the connection failed: 503 UF, counted as a connect failure
      } else {
        onUpgradeRefused(frames.status(), frames.status() == 0 ? null : tunnelAnswerHeaders(frames.answer()),
            Unpooled.wrappedBuffer(frames.refusalBody()));
      }
    });
  }

  /** @param open whether the tunnel opens now (CONNECT), or on the upstream's 101 (an extended CONNECT's upgrade) */
  private void onTunnelConnected(Future<?> f, ConnectStream t, boolean open) {
    if (state != State.CONNECTING) {
      Channel c = channelOf(f);
      if (c != null) {
        c.close(); // the stream was reset (or timed out) while connecting
      }
      return;
    }
    resilience.releasePending();
    if (deadline != null) {
      deadline.cancel(false); // the route timeout does not apply to the tunnel (stream_idle_timeout does)
      deadline = null;
    }
    if (!f.isSuccess()) {
      if (f.cause() instanceof ConnectTimeoutException) {
        cluster.stats().cxConnectTimeout.increment();
      }
      cluster.stats().cxConnectFail.increment();
      resilience.onLocalFailure(endpoint);
      endUpstreamRequest();
      routerReply(503, CONNECT_FAILURE, ResponseFlag.UF, null);
      return;
    }
    if (open) {
      onTunnelOpen(channelOf(f), t, null);
    } else {
      upgradeTarget = channelOf(f); // closed with the stream (channelInactive) until the tunnel owns it
    }
  }

  /** The channel of a connect (a ChannelFuture) or of an opened stream (a Future of it); null for a failed open. */
  private static Channel channelOf(Future<?> f) {
    return f instanceof ChannelFuture cf ? cf.channel() : (Channel) f.getNow();
  }

  /**
   * The upstream did not switch protocols (or refused the CONNECT): its status, body and end-to-end header fields go to the client, as Envoy
   * passes a refused upgrade's response on (a 502 UPE for a 101 with the wrong Sec-WebSocket-Accept); no answer at all
   * is a 503 UF.
   *
   * @param headers the refusal's header fields (HTTP/1.1 hop), or null
   * @param body    the refusal's body, released here
   */
  private void onUpgradeRefused(int status, io.netty.handler.codec.http.HttpHeaders headers, ByteBuf body) {
    upgradeTarget = null;
    byte[] bytes = ByteBufUtil.getBytes(body);
    body.release();
    if (state != State.CONNECTING) {
      return;
    }
    endUpstreamRequest();
    if (status < 200) {
      routerReply(503, CONNECT_FAILURE, ResponseFlag.UF, null);
      return;
    }
    cluster.stats().recordResponse(status);
    if (headers != null) { peerExchange.onResponse(NettyHeaderAccess.INSTANCE, headers); } // no exchange fields copied
    localReply(status, bytes, ResponseFlag.NONE, UpgradeAnswer.refusalLines(headers), true);
  }

  /** The upstream's 101 does not answer the WebSocket key this proxy sent: not a WebSocket, a 502 UPE. */
  private void onBadWebSocketAccept(String accept) {
    upgradeTarget = null;
    if (state != State.CONNECTING) {
      return;
    }
    endUpstreamRequest();
    cluster.stats().recordResponse(502);
    routerReply(502, "upstream WebSocket handshake failed: Sec-WebSocket-Accept "
        + (accept == null ? "missing" : "'" + accept + "' does not answer the key sent"), ResponseFlag.UPE, null);
  }

  /** An extended CONNECT's {@code :status 200} fields that reach the client ({@link UpgradeAnswer}). */
  private static io.netty.handler.codec.http.HttpHeaders tunnelAnswerHeaders(io.netty.handler.codec.http2.Http2Headers h2) {
    var h = new io.netty.handler.codec.http.DefaultHttpHeaders();
    if (h2 != null) {
      UpgradeAnswer.copy(h2, h);
    }
    return h;
  }

  /**
   * @param upstreamAnswer the upstream's handshake answer (an upgrade's 101, an extended CONNECT's 200) whose fields
   *                       the client's 200 carries, as Envoy's; null for a terminated CONNECT
   */
  private void onTunnelOpen(Channel target, ConnectStream t, io.netty.handler.codec.http.HttpHeaders upstreamAnswer) {
    if (state != State.CONNECTING) {
      target.close(); // the stream was reset (or timed out) while the upstream answered
      return;
    }
    upgradeTarget = null; // the tunnel owns the connection from now on
    if (deadline != null) {
      deadline.cancel(false); // a proxied CONNECT's route timeout bounded its answer, not the tunnel
      deadline = null;
    }
    state = State.FORWARDING;
    tunnel = t;
    responseStarted = true;
    responseComplete = true; // what follows is the tunnel: its end is not a cut response
    responseStatus = 200;
    cluster.stats().recordResponse(200);
    listener.stats().recordResponse(200);
    listener.stats().cxUpgradesTotal.increment();
    listener.stats().cxUpgradesActive.increment(); // given back when the tunnel closes (onTunnelClosed)
    t.open(target, pending, tunnelAnswer(upstreamAnswer)); // the DATA the client sent before the 200 goes first
  }

  /** The client's 200: the upstream answer's fields, then the response header rules of an ordinary response. */
  private HttpResponse tunnelAnswer(io.netty.handler.codec.http.HttpHeaders upstreamAnswer) {
    HttpResponse r = new io.netty.handler.codec.http.DefaultHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1,
        io.netty.handler.codec.http.HttpResponseStatus.OK);
    if (upstreamAnswer != null) {
      UpgradeAnswer.copy(upstreamAnswer, r.headers());
      io.keelson.dataplane.stats.PeerMetadata.removeFrom(r.headers()); // an in-mesh upstream's, never the client's
    }
    ForwardedHeaders.prepareResponse(r, listener.config().http(), virtualHost, route, weightedCluster);
    PolicyVerdicts.addResponseHeaders(policy.responseHeaders(), r.headers()::add);
    PolicyVerdicts.addResponseHeaders(policy.responseHeadersToSet(), r.headers()::set);
    return r;
  }

  /** One try of the request on {@link #endpoint}: a pooled or new upstream connection, or a stream on one. */
  private void startTry() {
    peerExchange.onTry(NettyHeaderAccess.INSTANCE, request.headers(), // per try: matches may mix mTLS and plaintext
        io.keelson.dataplane.tls.ClientTls.inMesh(cluster.config().tls(balancer.endpoint(endpoint))));
    balancer.onRequestStart(endpoint);
    endpointAccounted = true;
    endpointTried = true;
    resilience.retry.onHostTried(endpoint);
    cluster.stats().rqTotal.increment();
    cluster.stats().rqActive.increment();
    if (!resilience.acquirePending()) {
      endUpstreamRequest();
      routerReply(503, OVERFLOW, ResponseFlag.UO, overloadedHeader());
      return;
    }
    var retryPolicy = resilience.retry.policy();
    if (retryPolicy != null && !retryPolicy.perTryTimeout().isZero()) {
      perTryTimer = down.eventLoop().schedule(perTryTimeoutTask, retryPolicy.perTryTimeout().toNanos(), TimeUnit.NANOSECONDS);
    }
    state = State.CONNECTING;
    ++tries;
    openUpstream();
  }

  /**
   * The current try's upstream: a pooled connection, a new one, or a stream. When a new HTTP/1.1
   * connection is needed and max_connections is reached, the try waits as pending (it keeps its
   * pending slot) until a connection closes, as Envoy does; the route and per-try timeouts bound the wait.
   */
  private void openUpstream() {
    int thisTry = tries;
    UpstreamChannels upstreams = streams.upstreams().get();
    Future<Channel> f = upstreams.open(down.eventLoop(), balancer.endpoint(endpoint), cluster, this,
        resilience.breaker(), resilience.thresholds());
    if (f == null) {
      resilience.awaitConnection(down.eventLoop(), this::onConnectionSlotFree);
      return;
    }
    f.addListener(x -> onUpstreamOpen(x, thisTry));
  }

  /** Woken on the event loop while waiting for a connection slot (a cancelled wait is never woken). */
  private void onConnectionSlotFree() {
    if (state == State.CONNECTING) {
      openUpstream();
    }
  }

  private void onUpstreamOpen(Future<? super Channel> f, int thisTry) {
    boolean current = state == State.CONNECTING && thisTry == tries;
    if (!f.isSuccess()) {
      if (!current) {
        return;
      }
      resilience.releasePending();
      if (f.cause() instanceof ConnectTimeoutException) {
        cluster.stats().cxConnectTimeout.increment();
      }
      cluster.stats().cxConnectFail.increment();
      resilience.onLocalFailure(endpoint);
      endUpstreamRequest();
      if (maybeRetry(resilience.retry.retriableConnectFailure())) {
        return;
      }
      routerReply(503, CONNECT_FAILURE, resilience.exhausted() ? ResponseFlag.URX : ResponseFlag.UF, null);
      return;
    }
    Channel u = (Channel) f.getNow();
    if (!current) {
      detachUpstream(u, false); // the stream ended (reset, timeout) or moved on to another try while connecting
      return;
    }
    resilience.releasePending();
    up = u;
    state = State.FORWARDING;
    io.keelson.dataplane.filter.grpcweb.GrpcWebUpstreamCodec.install(u, policy.grpcWeb()); // before the request is written
    io.keelson.dataplane.filter.grpcjson.GrpcJsonUpstreamCodec.install(u, policy.transcoded());
    if (virtualHost != null && virtualHost.includeRequestAttemptCount()) {
      request.headers().setInt(RetryHeaders.ATTEMPT_COUNT, attempts());
    }
    if (attempts() > 1) { // a retry: what is left of the timeout
      ForwardedHeaders.expectedTimeout(request.headers(), listener.config().http(), timeoutMs,
          RouterTimingHeaders.perTryMs(forwarding),
          Math.max(0, RouterTimingHeaders.msSince(requestCompleteNanos)));
    }
    up.write(request, up.voidPromise());
    resilience.replayTo(up); // a retry: what the earlier tries sent, again
    HttpContent c;
    while ((c = pending.pollFirst()) != null) {
      if (c instanceof LastHttpContent end && holdForTrailers(end, false)) {
        break; // the end goes on once its trailers were checked
      }
      resilience.record(c);
      up.write(c, up.voidPromise());
    }
    up.flush();
    if (up.isWritable()) {
      resumeRequestReading();
    }
  }

  private void onBody(HttpContent c) {
    requestBytes += c.content().readableBytes();
    if (requestStream != null) {
      offerRequestChunk(c);
      return;
    }
    onProcessedBody(c);
  }

  /** A body message after any STREAMED processor: its trailers checked, through the codings, then on. */
  private void onProcessedBody(HttpContent c) {
    // checked once the verdict is known: here while forwarding, else as the pending end is flushed (forward)
    if (state == State.FORWARDING && c instanceof LastHttpContent end && !(c instanceof HttpRequest)
        && holdForTrailers(end, false)) {
      return;
    }
    if (requestBody != null && (c = codeRequestChunk(c, c instanceof LastHttpContent)) == null) {
      return;
    }
    mirror.onBody(c); // copied before the chunk is handed on (an upstream write may release it at once)
    boolean last = c instanceof LastHttpContent;
    if (last) {
      requestComplete = true;
      if (requestCompleteNanos == RouterTimingHeaders.INCOMPLETE
          && (state == State.FORWARDING || state == State.CONNECTING || retrying)) { // else forward() notes it
        requestCompleteNanos = System.nanoTime();
      }
    }
    switch (state) {
      case FORWARDING -> {
        resilience.record(c);
        up.write(c, up.voidPromise());
        upFlushPending = true;
        if (!up.isWritable()) {
          pauseRequestReading();
        }
      }
      case ROUTING, CONNECTING -> {
        pending.addLast(c);
        if (awaitingWholeBody) {
          if (requestBytes > policy.bufferLimit()) {
            payloadTooLarge();
          } else if (last) {
            onDecision(); // the buffered body is whole: the decision goes on
          }
        }
      }
      default -> c.release();
    }
    if (last && deadline == null && (state == State.FORWARDING || state == State.CONNECTING)
        && forwarding != null && !forwarding.timeout().isZero()) {
      startDeadline(forwarding.timeout().toNanos());
    }
  }

  // ======================================================================== response side

  @Override
  public void onUpstreamRead(HttpObject msg) {
    lastActivityNanos = System.nanoTime();
    if (state != State.FORWARDING) {
      ReferenceCountUtil.release(msg);
      return;
    }
    if (msg instanceof HttpResponse r) {
      if (r.status().codeClass() == io.netty.handler.codec.http.HttpStatusClass.INFORMATIONAL) {
        skippingInformational = !(r instanceof FullHttpResponse);
        ReferenceCountUtil.release(msg); // 1xx is not relayed; the final response follows
        return;
      }
      cancelPerTryTimer();
      int status = r.status().code();
      resilience.onResponse(endpoint, status, startNanos);
      if (retryResponse(r, status)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      io.keelson.dataplane.filter.ResponseCheck check = policy.takeResponseCheck();
      if (check != null) {
        holdResponse(r, check);
        return;
      }
      if (awaitWholeBody(new HeldResponse(r))) {
        return;
      }
      startResponse(r);
    } else if (held != null) {
      held.add(msg);
      if (held.awaited().overLimit()) { // as Envoy answers a response over its buffer limit
        replaceHeldResponse(io.keelson.dataplane.filter.CheckOutcome.deny(500, "", null, ResponseFlag.NONE));
      } else if (held.awaited().check() != null && msg instanceof LastHttpContent) {
        startResponseBodyCheck();
      }
      return;
    } else if (skippingInformational) {
      skippingInformational = !(msg instanceof LastHttpContent);
      ReferenceCountUtil.release(msg);
      return;
    }
    relay(msg);
  }

  /**
   * Holds the final response with the upstream's reads paused while {@code check} runs, as Envoy's encoder filters
   * stop on encodeHeaders; {@link #onResponseCheck} goes on.
   */
  private void holdResponse(HttpResponse r, io.keelson.dataplane.filter.ResponseCheck check) {
    held = new HeldResponse(r);
    up.config().setAutoRead(false);
    boolean bodyless = HeldResponse.bodyless(r, request.method() == io.netty.handler.codec.http.HttpMethod.HEAD);
    externalCheck = check.start(new io.keelson.dataplane.filter.CheckedResponse(down.eventLoop(),
        streams.upstreams().get().calls(), snapshot, r.status().code(), fieldsOf(r.headers()), bodyless),
        this::onHeldResponseCheck);
  }

  /**
   * A check of the held response answered (its head's, or its whole body's once {@link HeldResponse#awaited} has it
   * set): the response goes on with the header (and body) changes, or the check's local reply replaces it.
   */
  private void onHeldResponseCheck(io.keelson.dataplane.filter.CheckOutcome outcome) {
    externalCheck = UpstreamCalls.Call.ENDED;
    if (held == null || state != State.FORWARDING) {
      return; // the stream ended (reset, timeout) while the check ran
    }
    if (!outcome.allowed()) {
      replaceHeldResponse(outcome);
      return;
    }
    HeldResponse h = held;
    held = null;
    ForwardedHeaders.apply(h.head().headers(), outcome.upstreamHeaders());
    if (outcome.phases() != null) {
      outcome.phases().apply(policy); // a response-headers answer's mode_override: the response body's and trailers'
    }
    if (h.awaited().check() == null && awaitWholeBody(h)) {
      return;
    }
    if (outcome.replacementBody() != null) {
      h.replaceBody(outcome.replacementBody());
    }
    relayHeld(h);
  }

  /**
   * When a filter checks the whole response body (ext_proc's BUFFERED response body): holds {@code h} until the
   * response ended (reading on), then starts the check; false when there is no such check or no body.
   */
  private boolean awaitWholeBody(HeldResponse h) {
    io.keelson.dataplane.filter.BodyCheck check = policy.takeResponseBodyCheck();
    if (check == null || HeldResponse.bodyless(h.head(), request.method() == io.netty.handler.codec.http.HttpMethod.HEAD)) {
      return false;
    }
    h.awaited().await(check);
    held = h;
    if (h.complete()) {
      startResponseBodyCheck();
    } else if (up != null) {
      readUpstream(true);
    }
    return true;
  }

  private void startResponseBodyCheck() {
    HeldResponse h = held;
    io.netty.handler.codec.http.HttpHeaders headers = h.head().headers();
    externalCheck = h.awaited().check().start(new io.keelson.dataplane.filter.CheckedBody(down.eventLoop(),
        streams.upstreams().get().calls(), snapshot, fieldsOf(headers), h.bodyBytes()), this::onHeldResponseCheck);
  }

  /** The fields of {@code headers} as a check sees them, in order. */
  private static io.keelson.dataplane.filter.CheckedRequest.HeaderSource fieldsOf(
      io.netty.handler.codec.http.HttpHeaders headers) {
    return visitor -> {
      for (var e : headers) {
        if (!H2ConversionFields.added(e.getKey())) { // x-http2-*, host, ...: Netty's, not the client's
          visitor.accept(e.getKey(), e.getValue());
        }
      }
    };
  }

  /** The held response to the client, then reading on. */
  private void relayHeld(HeldResponse h) {
    startResponse(h.head());
    HttpObject msg;
    while ((msg = h.poll()) != null && state == State.FORWARDING) {
      relay(msg);
    }
    h.release();
    if (up != null && !responseComplete) {
      readUpstream(down.isWritable());
    }
    down.flush();
  }

  /** A check's local reply instead of the held response (the upstream stream or connection is dropped). */
  private void replaceHeldResponse(io.keelson.dataplane.filter.CheckOutcome outcome) {
    externalCheck.cancel();
    externalCheck = UpstreamCalls.Call.ENDED;
    releaseHeld();
    closeUpstream();
    localReply(outcome.status(), outcome.body(), outcome.flag(), outcome.replyHeaders());
  }

  private void releaseHeld() {
    HeldResponse h = held;
    if (h != null) {
      held = null;
      h.release();
    }
  }

  /** The final response head's bookkeeping and header rules, before it goes to the client. */
  private void startResponse(HttpResponse r) {
    int status = r.status().code();
    responseStarted = true;
    responseStatus = status;
    responseKeepAlive = HttpUtil.isKeepAlive(r);
    cluster.stats().recordResponse(responseStatus);
    listener.stats().recordResponse(responseStatus);
    ForwardedHeaders.serviceTime(r.headers(), listener.config().http(), requestCompleteNanos);
    observer.responseHead(listener, r.headers()::get);
    ForwardedHeaders.prepareResponse(r, listener.config().http(), virtualHost, route, weightedCluster);
    peerExchange.onResponse(NettyHeaderAccess.INSTANCE, r.headers());
    if (virtualHost != null && virtualHost.includeAttemptCountInResponse()) {
      r.headers().setInt(RetryHeaders.ATTEMPT_COUNT, attempts());
    }
    PolicyVerdicts.addResponseHeaders(policy.responseHeaders(), r.headers()::add);
    PolicyVerdicts.addResponseHeaders(policy.responseHeadersToSet(), r.headers()::set);
    boolean headersOnly = r instanceof FullHttpResponse full && !full.content().isReadable() && full.trailingHeaders().isEmpty();
    if (!headersOnly && status != 204 && status != 304 && !io.netty.handler.codec.http.HttpMethod.HEAD.equals(request.method())) {
      responseBody = io.keelson.dataplane.filter.CodedBody.start(policy, NettyHeaderAccess.INSTANCE, r.headers(), status);
      io.keelson.dataplane.filter.StreamedBodyCheck check = policy.takeResponseBodyStream();
      if (check != null) { // ext_proc STREAMED: the body may change size
        r.headers().remove(HttpHeaderNames.CONTENT_LENGTH);
        responseStream = check.start(down.eventLoop(), streams.upstreams().get().calls(), snapshot, new StreamedSink(true));
      }
    }
  }

  /** One piece of the response (its head included) to the client. */
  private void relay(HttpObject msg) {
    boolean last = msg instanceof LastHttpContent;
    if (msg instanceof LastHttpContent end) {
      peerExchange.onTrailers(NettyHeaderAccess.INSTANCE, end.trailingHeaders());
      observer.responseTrailers(listener, end.trailingHeaders());
    }
    if (responseStream != null && msg instanceof HttpContent c) { // its chunks go on after the processor's answers
      if (msg instanceof HttpResponse whole) {
        down.write(new DefaultHttpResponse(whole.protocolVersion(), whole.status(), whole.headers()), down.voidPromise());
        downFlushPending = true;
      }
      boolean trailers = false;
      if (c instanceof LastHttpContent end) {
        streamedResponseTrailers = end.trailingHeaders();
        trailers = !end.trailingHeaders().isEmpty();
      }
      responseStream.offer(c.content(), last, trailers);
      return;
    }
    relayBody(msg, last);
  }

  /** A piece of the response after any STREAMED processor: its trailers checked, through the codings, to the client. */
  private void relayBody(HttpObject msg, boolean last) {
    if (msg instanceof LastHttpContent end && !(msg instanceof HttpResponse) && holdForTrailers(end, true)) {
      return;
    }
    if (responseBody != null && msg instanceof HttpContent c) {
      msg = codeResponseBody(c, last);
      if (msg == null) {
        return;
      }
    }
    if (msg instanceof HttpContent c) {
      responseBytes += c.content().readableBytes(); // what the client gets (gzipped, when a coding transforms the body)
    }
    if (last) {
      onResponseComplete(down.write(msg));
    } else {
      down.write(msg, down.voidPromise());
      downFlushPending = true;
      if (!down.isWritable()) {
        up.config().setAutoRead(false);
      }
    }
  }

  /**
   * One response message's body through the codings: the message to write instead of {@code c} (which is released),
   * or null when there is nothing to write or the codings refused the body (a corrupt gzip body, a decompression
   * bomb: the stream is reset, as for an upstream protocol error).
   */
  private HttpObject codeResponseBody(HttpContent c, boolean last) {
    ByteBuf out;
    try {
      out = responseBody.apply(c.content().retain(), last, down.alloc());
    } catch (io.keelson.dataplane.filter.BodyStage.BodyCodingException e) {
      responseBody = null; // released by apply
      c.release();
      flag = ResponseFlag.UPE;
      resetDownstream(Http2Error.INTERNAL_ERROR);
      return null;
    }
    if (!last && !out.isReadable()) {
      out.release();
      c.release();
      return null;
    }
    if (last) {
      responseBody = null; // released by its last chunk
    }
    return recoded(c, out);
  }

  /** {@code c} with {@code out} as its content (a last one keeps its trailers); {@code c} is released. */
  private static HttpObject recoded(HttpContent c, ByteBuf out) {
    HttpObject coded;
    if (c instanceof FullHttpResponse full) {
      coded = full.replace(out);
    } else if (c instanceof LastHttpContent l) {
      DefaultLastHttpContent end = new DefaultLastHttpContent(out);
      end.trailingHeaders().set(l.trailingHeaders());
      coded = end;
    } else {
      coded = new io.netty.handler.codec.http.DefaultHttpContent(out);
    }
    c.release();
    return coded;
  }

  @Override
  public void onUpstreamReadComplete() {
    if (downFlushPending) {
      downFlushPending = false;
      down.flush();
    }
  }

  @Override
  public void onUpstreamWritabilityChanged(boolean writable) {
    if (writable && state == State.FORWARDING) {
      resumeRequestReading();
    }
  }

  @Override
  public void onUpstreamClosed(long resetCode) {
    up = null;
    if (state != State.FORWARDING) {
      return;
    }
    if (responseEnd != null && responseEnd.holding()) {
      return; // the response was read whole and its end waits for the trailers' check
    }
    if (responseStream != null && streamedResponseTrailers != null) {
      return; // the response was read whole and its end waits for a STREAMED processor's answers
    }
    if (held != null) {
      if (held.complete()) {
        return; // the whole response is held: the upstream's close after it changes nothing
      }
      cancelExternalCheck(); // cut while its head waited for the check: not retried, as its head already came
      endUpstreamRequest();
      boolean streamReset = resetCode >= 0;
      routerReply(503, streamReset ? REMOTE_RESET : RESET_BEFORE_HEADERS, streamReset ? ResponseFlag.UR : ResponseFlag.UC,
          null);
      return;
    }
    if (!responseStarted) {
      cluster.stats().rqResetBeforeResponse.increment();
      resilience.onLocalFailure(endpoint);
      endUpstreamRequest();
      boolean refused = resetCode == Http2Error.REFUSED_STREAM.code();
      if (maybeRetry(refused ? resilience.retry.retriableRefusedStream() : resilience.retry.retriableReset())) {
        return;
      }
      // As Envoy: a stream the upstream reset (RST_STREAM) is UR, a connection that went away is UC.
      boolean streamReset = resetCode >= 0;
      routerReply(503, refused ? REFUSED_STREAM_RESET : streamReset ? REMOTE_RESET : RESET_BEFORE_HEADERS,
          resilience.exhausted() ? ResponseFlag.URX : streamReset ? ResponseFlag.UR : ResponseFlag.UC, null);
      return;
    }
    endUpstreamRequest();
    flag = resetCode >= 0 ? ResponseFlag.UR : ResponseFlag.UC;
    resetDownstream(resetCode == Http2Error.REFUSED_STREAM.code() ? Http2Error.REFUSED_STREAM : Http2Error.INTERNAL_ERROR);
  }

  private void onResponseComplete(ChannelFuture lastWrite) {
    responseComplete = true;
    state = State.DONE;
    down.flush();
    downFlushPending = false;
    cancelTimers();
    endUpstreamRequest();
    Channel u = up;
    up = null;
    if (u != null) { // null when it closed while the response was held for a response check
      // an end still held for its trailers' check was never written: that connection cannot carry another request
      detachUpstream(u, requestComplete && !requestEndHeld() && responseKeepAlive);
    }
    record();
    if (!requestComplete) {
      // The upstream answered before the request ended (an early 413, a finished server stream): stop the upload.
      stopUploadAfterResponse(lastWrite);
    }
  }

  // ======================================================================== retries

  /**
   * A response head that retry_on covers (a 5xx, a trailers-only gRPC status...): when a retry is
   * granted the upstream is dropped and the retry scheduled; true then, and the caller drops the head.
   */
  private boolean retryResponse(HttpResponse r, int status) {
    RetryState retry = resilience.retry;
    if (!retry.enabled()) {
      return false;
    }
    boolean retriable = retry.retriableStatus(status, retry.wantsGrpcStatus() ? r.headers().get("grpc-status") : null);
    if (retriable && canRetry() && resilience.grantRetry()) {
      cluster.stats().recordResponse(status);
      closeUpstream(); // the rest of this response is not read: the connection or stream is dropped
      endUpstreamRequest();
      scheduleRetry();
      return true;
    }
    retry.onFinalResponse(retriable);
    if (resilience.exhausted()) {
      flag = ResponseFlag.URX;
    }
    return false;
  }

  /** Nothing went downstream yet and the body sent so far can be sent again. */
  private boolean canRetry() {
    return !responseStarted && resilience.replayable() && state != State.DONE;
  }

  /** After a failed try with no response: retries when retry_on covers it and the limits allow; false when the caller answers. */
  private boolean maybeRetry(boolean retriable) {
    if (!retriable || !resilience.retry.enabled() || !canRetry() || !resilience.grantRetry()) {
      return false;
    }
    scheduleRetry();
    return true;
  }

  /** Waits the backoff, then routes the retry (same cluster, a new host pick). */
  private void scheduleRetry() {
    state = State.ROUTING;
    retrying = true;
    pauseRequestReading(); // the body waits in the stream until the next try's upstream is attached
    long delay = resilience.retry.backoffNanos();
    if (delay <= 0) {
      publishRetry();
    } else {
      down.eventLoop().schedule(retryTask, delay, TimeUnit.NANOSECONDS);
    }
  }

  private void publishRetry() {
    if (state != State.ROUTING || !retrying) {
      return; // the stream ended during the backoff
    }
    if (!publishAgain()) {
      retrying = false;
      localReply(503, "routing pipeline full", ResponseFlag.LR);
    }
  }

  private void onPerTryTimeout() {
    perTryTimer = null;
    if ((state != State.FORWARDING && state != State.CONNECTING) || responseStarted) {
      return;
    }
    cluster.stats().rqPerTryTimeout.increment();
    closeUpstream();
    tries++; // an open still in progress belongs to this abandoned try
    resilience.onLocalFailure(endpoint);
    endUpstreamRequest();
    if (maybeRetry(resilience.retry.retriableReset())) {
      return;
    }
    cluster.stats().rqTimeout.increment();
    routerReply(504, UPSTREAM_TIMEOUT, resilience.exhausted() ? ResponseFlag.URX : ResponseFlag.UT, null);
  }

  /** The tries made so far, the current one included (x-envoy-attempt-count). */
  private int attempts() {
    return resilience.retry.retriesDone() + 1;
  }

  private void cancelPerTryTimer() {
    if (perTryTimer != null) {
      perTryTimer.cancel(false);
      perTryTimer = null;
    }
  }

  // ======================================================================== timers

  private void startDeadline(long nanos) {
    if (deadline == null) {
      deadline = down.eventLoop().schedule(this::onDeadline, nanos, TimeUnit.NANOSECONDS);
    }
  }

  private void onDeadline() {
    deadline = null;
    if (state != State.FORWARDING && state != State.CONNECTING && !(state == State.ROUTING && retrying)) {
      return;
    }
    retrying = false;
    cluster.stats().rqTimeout.increment();
    Channel unanswered = state == State.CONNECTING ? upgradeTarget : null; // a proxied CONNECT's stream
    upgradeTarget = null;
    closeUpstream();
    endUpstreamRequest();
    if (!responseStarted) {
      routerReply(504, UPSTREAM_TIMEOUT, ResponseFlag.UT, null);
    } else {
      flag = ResponseFlag.UT;
      resetDownstream(Http2Error.CANCEL);
    }
    if (unanswered != null) {
      unanswered.close(); // reset, after the 504: its failed answer then finds the exchange over
    }
  }

  /** Envoy's stream_idle_timeout: no frame either way for that long (a zero window counts as idle). */
  private void checkIdle() {
    idleCheck = null;
    if (state == State.DONE) {
      return;
    }
    long idle = System.nanoTime() - lastActivityNanos;
    long limit = streams.streamIdleNanos();
    if (idle < limit) {
      idleCheck = down.eventLoop().schedule(this::checkIdle, limit - idle, TimeUnit.NANOSECONDS);
      return;
    }
    if (cluster != null) {
      cluster.stats().rqTimeout.increment();
    }
    closeUpstream();
    endUpstreamRequest();
    if (!responseStarted) {
      localReply(408, STREAM_TIMEOUT, ResponseFlag.UT);
    } else {
      flag = ResponseFlag.UT;
      resetDownstream(Http2Error.CANCEL);
    }
  }

  /** The request's end waits for its trailers' check: not written upstream yet. */
  private boolean requestEndHeld() {
    return requestEnd != null && requestEnd.holding();
  }

  /** As Envoy cancels the check when the stream goes: frees the authorization cluster's slot and stream. */
  private void cancelExternalCheck() {
    UpstreamCalls.Call c = externalCheck;
    externalCheck = UpstreamCalls.Call.ENDED;
    c.cancel();
    releaseHeld();
    if (requestEnd != null) {
      requestEnd.release();
    }
    if (responseEnd != null) {
      responseEnd.release();
    }
  }

  /**
   * ext_proc trailers SEND: when a filter asked for the check of this message's trailers and {@code end} has some, it
   * is held until the check answers, then goes on with the trailers changed (or the exchange is denied); false when
   * not checked.
   */
  private boolean holdForTrailers(LastHttpContent end, boolean response) {
    if (end.trailingHeaders().isEmpty()) {
      return false;
    }
    io.keelson.dataplane.filter.TrailersCheck check = response ? policy.takeResponseTrailersCheck()
        : policy.takeRequestTrailersCheck();
    if (check == null) {
      return false;
    }
    var held = new io.keelson.dataplane.filter.HeldTrailers<LastHttpContent>(check, end, down.eventLoop(),
        streams.upstreams().get().calls(), snapshot, fieldsOf(end.trailingHeaders()), LastHttpContent::release,
        (e, outcome) -> onTrailersChecked(e, outcome, response));
    if (response) {
      responseEnd = held;
    } else {
      requestEnd = held;
    }
    return true;
  }

  private void onTrailersChecked(LastHttpContent end, io.keelson.dataplane.filter.CheckOutcome outcome,
      boolean response) {
    if (state == State.DONE) {
      end.release();
      return;
    }
    if (!outcome.allowed()) {
      end.release();
      new StreamedSink(response).denied(outcome); // as a denied body: a local reply before the response, else cut
      return;
    }
    ForwardedHeaders.apply(end.trailingHeaders(), outcome.upstreamHeaders());
    if (response) {
      relayBody(end, true);
      return;
    }
    onProcessedBody(end);
    if (up != null && upFlushPending) {
      upFlushPending = false;
      up.flush();
    }
  }

  private void cancelTimers() {
    cancelPerTryTimer();
    if (deadline != null) {
      deadline.cancel(false);
      deadline = null;
    }
    if (idleCheck != null) {
      idleCheck.cancel(false);
      idleCheck = null;
    }
  }

  // ======================================================================== ending

  /** x-envoy-overloaded for a circuit-breaker 503, or null with the router's suppress_envoy_headers (as Envoy). */
  private String overloadedHeader() {
    return listener != null && listener.config().http().suppressEnvoyHeaders() ? null : OVERLOADED_HEADER;
  }

  /** The proxy's own answer; for gRPC calls a trailers-only response with the matching grpc-status. */
  private void localReply(int status, String body, ResponseFlag why) {
    localReply(status, body, why, null);
  }

  /** @param extraHeaders the filters' header lines for the reply ({@code name: value\r\n} each), or null */
  private void localReply(int status, String body, ResponseFlag why, String extraHeaders) {
    localReply(status, body.getBytes(StandardCharsets.UTF_8), why, extraHeaders, false);
  }

  /**
   * A local reply of the router once a route was chosen (no healthy upstream, overflow, connect failure, reset,
   * timeout, cluster not found): the route's, virtual host's and route configuration's response header mutations
   * apply to it, as Envoy's router passes finalizeResponseHeaders to sendLocalReply.
   */
  private void routerReply(int status, String body, ResponseFlag why, String extraHeaders) {
    localReply(status, body.getBytes(StandardCharsets.UTF_8), why, extraHeaders, true);
  }

  /**
   * @param body        the exact body bytes
   * @param routeReply  a direct_response, a redirect or a router reply ({@link #routerReply}): the route's, virtual host's and route configuration's
   *                    response header mutations apply to it (Envoy's DirectResponseEntry::finalizeResponseHeaders),
   *                    and a content-type they set replaces text/plain
   */
  private void localReply(int status, byte[] body, ResponseFlag why, String extraHeaders, boolean routeReply) {
    if (why != ResponseFlag.NONE) {
      flag = why;
    }
    String contentType = "text/plain";
    boolean rewritten = false;
    boolean replacesContentType = false;
    var renderer = listener == null || responseStarted ? null : streams.context().localReplies(listener.config().http());
    if (renderer != null) { // local_reply_config: the same rewrite for gRPC calls, whose grpc-status follows the new code
      var reply = renderer.render(status, body, flag, head, uri, streams.codec.protocol);
      rewritten = reply.status != status;
      status = reply.status;
      body = reply.body;
      contentType = reply.contentType;
      replacesContentType = reply.replacesContentType;
      if (replacesContentType) { // as Envoy: the new body's type, not the route's or a filter's
        extraHeaders = io.keelson.dataplane.http1.PolicyVerdicts.withoutContentType(extraHeaders);
      }
      extraHeaders = io.keelson.dataplane.http1.PolicyVerdicts.withLocalReplyHeaders(extraHeaders, reply);
    }
    state = State.DONE;
    releasePending();
    cancelTimers();
    cancelExternalCheck();
    if (responseStarted) {
      resetDownstream(Http2Error.INTERNAL_ERROR);
      return;
    }
    responseStarted = true;
    responseComplete = true;
    responseStatus = grpc ? 200 : status;
    if (listener != null) {
      listener.stats().recordResponse(responseStatus);
    }
    FullHttpResponse r;
    if (grpc) {
      // as Envoy, a mapper's new status decides grpc-status (httpToGrpcStatus); the proxy's own reasons otherwise
      int code = GrpcReplies.forLocalReply(status, why, rewritten);
      observer.localGrpcStatus(code);
      r = GrpcReplies.trailersOnly(code, body.length == 0 ? HttpResponseStatus.valueOf(status).reasonPhrase()
          : GrpcReplies.messageOf(body));
      if (policy.grpcWeb() != 0) { // as Envoy's grpc_web filter relabels the gRPC local reply
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, io.keelson.dataplane.filter.grpcweb.GrpcWebLocalReplies.contentType(policy.grpcWeb()));
      }
    } else {
      byte[] bytes = body;
      r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), Unpooled.wrappedBuffer(bytes));
      if (location != null) {
        r.headers().set(HttpHeaderNames.LOCATION, location);
      }
      if (routeReply && route != null && listener != null) {
        ForwardedHeaders.prepareRouteReply(r, listener.config().http(), virtualHost, route);
      }
      if (replacesContentType) {
        r.headers().remove(HttpHeaderNames.CONTENT_TYPE);
      }
      if (bytes.length > 0 && !r.headers().contains(HttpHeaderNames.CONTENT_TYPE)
          && !io.keelson.dataplane.http1.PolicyVerdicts.hasContentType(extraHeaders)) {
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType); // a filter's own content-type (ext_authz's) wins
      }
      r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
      r.headers().set(HttpHeaderNames.SERVER, "keelson");
      responseBytes = bytes.length;
    }
    PolicyVerdicts.replaceResponseHeaders(extraHeaders, r.headers(), grpc);
    if (endpointTried && virtualHost != null && virtualHost.includeAttemptCountInResponse()) {
      r.headers().setInt(RetryHeaders.ATTEMPT_COUNT, attempts()); // as Envoy, once a try was made
    }
    record();
    ChannelFuture written = down.writeAndFlush(r);
    if (!requestComplete) {
      stopUploadAfterResponse(written);
    }
    down.config().setAutoRead(true); // drain (and drop) whatever the client still sends
  }

  /**
   * RST_STREAM(NO_ERROR) once the response is out (RFC 9113 §8.1): a reset overtakes DATA that waits
   * for window, so it is sent only after the last response frame was written.
   */
  private void stopUploadAfterResponse(ChannelFuture lastWrite) {
    lastWrite.addListener(f -> {
      if (!requestComplete && down.isActive()) {
        streams.codec.stopReading(down);
      }
    });
  }

  private void resetDownstream(Http2Error error) {
    state = State.DONE;
    cancelExternalCheck();
    record();
    streams.codec.reset(down, error);
    if (streams.codecTxReset != null) {
      streams.codecTxReset.increment();
    }
    down.close();
  }

  private void closeUpstream() {
    Channel u = up;
    up = null;
    if (u != null) {
      detachUpstream(u, false);
    }
  }

  private void detachUpstream(Channel u, boolean reusable) {
    UpstreamRelay relay = u.pipeline().get(UpstreamRelay.class);
    if (relay != null && relay.owner() == this) {
      relay.owner(null);
    }
    streams.upstreams().get().release(u, reusable);
  }

  /** The exchange ended with a streamed body unfinished (a reset, a cut, an early answer): it lets go of what it holds. */
  private void cancelBodyStreams() {
    if (requestStream != null) {
      requestStream.cancel();
    }
    if (responseStream != null) {
      responseStream.cancel();
    }
  }

  private void endUpstreamRequest() {
    cancelPerTryTimer();
    resilience.releasePending();
    if (endpointAccounted) {
      endpointAccounted = false;
      balancer.onRequestEnd(endpoint);
      cluster.stats().rqActive.decrement();
    }
  }

  private void releasePending() {
    HttpContent c;
    while ((c = pending.pollFirst()) != null) {
      c.release();
    }
  }

  private void record() {
    cancelBodyStreams();
    if (recorded || head == null) {
      return;
    }
    recorded = true;
    retrying = false;
    PolicyVerdicts.end(policy);
    resilience.end();
    long duration = System.nanoTime() - startNanos;
    IstioDestination d = cluster != null ? cluster.stats().istio : listener != null ? listener.stats().istioUnknown : null;
    if (d != null) {
      peerExchange.record(d, responseStatus, flag, duration, requestBytes, responseBytes);
    }
    InetSocketAddress remote = io.keelson.dataplane.intercept.RemoteAddress.of(down.parent());
    observer.healthCheck(policy.healthCheck());
    observer.end(listener, head, uri, streams.codec.protocol, duration, responseStatus, flag, requestBytes, responseBytes,
        cluster != null ? cluster.name() : null, endpointTried ? balancer.endpoint(endpoint) : null,
        remote == null ? null : io.keelson.dataplane.edge.DownstreamAddress.logAddress(downstreamIp, downstreamFromXff,
            remote.getAddress().getHostAddress() + ":" + remote.getPort()),
        io.keelson.dataplane.intercept.OriginalDestination.localAddress(down.parent()), route != null ? route.name() : null,
        down.parent());
  }
}
