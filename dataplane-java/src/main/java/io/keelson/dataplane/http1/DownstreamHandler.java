package io.keelson.dataplane.http1;

import io.keelson.dataplane.balance.LoadBalancer;
import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.config.HttpLimits;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Listener;
import io.keelson.dataplane.http1.codec.Http1Version;
import io.keelson.dataplane.http1.codec.Http1ParseException;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.http1.codec.Http1RequestParser;
import io.keelson.dataplane.http1.codec.Http1Response;
import io.keelson.dataplane.mirror.RequestMirror;
import io.keelson.dataplane.pipeline.EventFiller;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.routing.RoutingCallback;
import io.keelson.dataplane.routing.RoutingEvent;
import io.keelson.dataplane.routing.ServingCluster;
import io.keelson.dataplane.routing.ServingListener;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.IstioDestination;
import io.keelson.dataplane.stats.ResponseFlag;
import io.keelson.dataplane.config.CircuitBreakerConfig;
import io.keelson.dataplane.resilience.CircuitBreakers;
import io.keelson.dataplane.resilience.OutlierDetector;
import io.keelson.dataplane.resilience.RetryState;
import io.keelson.dataplane.resilience.RouterTimingHeaders;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;

/**
 * One downstream HTTP/1.1 connection and the exchange it is running: parse the request, route it on
 * the pipeline, stream it to an upstream connection from the event loop's pool, stream the response
 * back. One exchange at a time (pipelined requests wait in the parser). Backpressure both ways: a peer
 * that is not writable stops reads on the other side.
 *
 * <p>Threading: event-loop confined, except {@link #onRouted}, which a ring pipeline calls from its
 * balance thread; it copies the decision and hops back to the event loop.
 */
final class DownstreamHandler extends ChannelInboundHandlerAdapter
    implements Http1Listener<Http1Request>, RoutingCallback, EventFiller<RoutingEvent, DownstreamHandler>,
        ConnectionTimers.Owner {

  /** A fixed-length response body up to this size is copied into the head's buffer: one buffer, one write. */
  private static final int COALESCE_BODY_BYTES = 2048;
  /** Request body bytes held while routing or connecting; past this, reading pauses. */
  private static final int MAX_PENDING_BODY_BYTES = 64 * 1024;

  private enum State { IDLE, ROUTING, CONNECTING, FORWARDING, LOCAL_REPLY, CLOSED }

  private final ProxyContext context;
  /** The listener (or SNI-selected chain, set once before the first request) whose snapshot entry serves this connection. */
  private String listenerName;
  private final Http1RequestParser parser;
  private final Runnable decisionTask = this::onDecisionArrived;
  private final long idleTimeoutNanos;
  private final long streamIdleNanos;
  private Channel channel;
  private boolean inRead;
  private boolean upstreamFlushPending;
  private boolean readPaused;

  // ---- the current exchange
  private State state = State.IDLE;
  private Http1Request request;
  /** Writes trace propagation headers onto the current request (one lambda per connection, not per request). */
  private final TraceContext.Setter traceHeaders = new TraceContext.Setter() {
    @Override
    public void set(String name, String value) {
      request.headers().set(name, value);
    }

    @Override
    public void setLatin1(String name, byte[] value, int length) {
      request.headers().setLatin1(name, value, length); // the hop's bytes, no String per request
    }
  };
  private boolean requestHasBody;
  private boolean requestComplete;
  private boolean responseStarted;
  private boolean responseComplete;
  private boolean responseChunked;
  /** The response body's codings (compressor, decompressor) when some filter's transforms it, else null. */
  private io.keelson.dataplane.filter.CodedBody responseBody;
  /** The request body's codings (compressor, decompressor) when some filter's transforms it, else null. */
  private io.keelson.dataplane.filter.CodedBody requestBody;
  /** ext_proc STREAMED: the request body's chunks go through this, and the request's end after them; else null. */
  private io.keelson.dataplane.filter.StreamedBodyCheck.Body requestStream;
  /** The response body's, likewise. */
  private io.keelson.dataplane.filter.StreamedBodyCheck.Body responseStream;
  /**
   * A streamed body's own pause of the client's reads (the request's) or the upstream's (the response's), held apart
   * from the connection's writability pauses: those resume reading when the other side drains, this only by its body.
   */
  private boolean requestStreamPaused;
  private boolean responseStreamPaused;
  /** The trailers of a streamed request's or response's end, held until its last chunk's answer. */
  private Http1Headers streamedRequestTrailers;
  private Http1Headers streamedResponseTrailers;
  /** The request's or response's end (its trailers, copied) while they are checked (ext_proc trailers SEND), or null. */
  private io.keelson.dataplane.filter.HeldTrailers<Http1Headers> requestEnd;
  private io.keelson.dataplane.filter.HeldTrailers<Http1Headers> responseEnd;
  /** The request codings were chosen for this exchange (a retry keeps the coded request as it is). */
  private boolean requestCodingChosen;
  /** The encoded response head, kept until the body (or the response end) arrives to share its buffer. */
  private ByteBuf pendingHead;
  private boolean closeAfterResponse;
  private boolean retried;
  private ServingListener listener;
  private final ArrayDeque<ByteBuf> pendingBody = new ArrayDeque<>();
  /** envoy.filters.http.buffer: the decision waits for the rest of the body (read up to the filter's limit). */
  private boolean awaitingWholeBody;
  /** The body was buffered whole: a 100 Continue, if the client expected one, went when reading it began. */
  private boolean bodyBuffered;
  private int pendingBodyBytes;
  private Http1Headers pendingTrailers;
  private ConnectionTimers timers;

  // ---- what the exchange's metrics and access log record
  private long startNanos;
  /** Counts the connection's exchanges: an external check's answer applies only to the exchange that started it. */
  private long exchangeSeq;
  /** When the router had the whole request (the route timeout's start), else INCOMPLETE: x-envoy-upstream-service-time. */
  private long requestCompleteNanos = RouterTimingHeaders.INCOMPLETE;
  private long requestBytes;
  private long responseBytes;
  private int responseStatus;
  private ResponseFlag flag = ResponseFlag.NONE;
  private boolean recorded;
  private boolean endpointTried;
  /** The exchange's access log record and tracing span. */
  private final ExchangeObserver observer;
  private String remoteAddress;
  /** Who the downstream of each request is (peer or x-forwarded-for), and whether it is internal. */
  private io.keelson.dataplane.edge.DownstreamAddress downstream;
  /** The connection's local address as its filters see it: the original destination when the original_dst filter restored one. */
  private InetSocketAddress localAddress;

  // ---- the routing decision, copied out of the routing event
  private boolean decided;
  private ServingSnapshot snapshot;
  /**
   * Set when this connection's listener was removed or replaced ({@link #retire}): the snapshot that still
   * had it, which serves the connection's remaining requests (Envoy drains such a connection with the
   * listener's old config); null while the listener is live.
   */
  private ServingSnapshot retiredFrom;
  private VirtualHostConfig virtualHost;
  private RouteEntry route;
  /** The route's Forward action with this request's timeout headers applied; null until it is forwarded. */
  private RouteAction.Forward forwarding;
  private RouteAction.WeightedCluster weightedCluster;
  private ServingCluster cluster;
  private LoadBalancer balancer;
  /** This connection's ORIGINAL_DST host (its original destination, or none), built on first use. */
  private io.keelson.dataplane.intercept.OriginalDstHost originalDst;
  private int endpoint;
  private boolean endpointAccounted;
  /** The HTTP filters' verdict, copied out of the routing event. */
  private final FilterContext policy = new FilterContext();
  /** Istio's metadata exchange and the peer of the current exchange for its metrics. */
  private final io.keelson.dataplane.stats.PeerExchange peerExchange;
  /** Where the pipeline leaves each decision, ticketed so a late one never reaches the next request. */
  private final io.keelson.dataplane.routing.DecisionSlot routed = new io.keelson.dataplane.routing.DecisionSlot();
  private boolean policyDelayDone;
  /** The filters' external check (ext_authz) of this request was started. */
  private boolean externalCheckStarted;
  /** The outstanding external check of the current request, cancelled when the exchange ends without its answer. */
  private io.keelson.dataplane.http2.UpstreamCalls.Call externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
  /** The final response while a filter's response check (ext_proc) runs, its call in {@link #externalCheck}; or null. */
  private HeldResponse held;

  // ---- the upstream side
  private UpstreamHandler upstream;
  private UpstreamHandler connecting;
  private boolean upstreamReused;
  private boolean requestBodySent;
  /** The Upgrade header value of a permitted upgrade exchange, else null. */
  private String upgrade;
  /** This exchange terminates CONNECT ({@link ConnectTunnel}): a raw TCP upstream, a 200 once it is connected. */
  private boolean connectTunnel;
  /** This exchange proxies a CONNECT request to the cluster (no connect_config): its 2xx opens a raw pipe. */
  private boolean proxiedConnect;
  /** The upstream answered the upgrade with 101: the connection is a tunnel until it closes. */
  private boolean tunnel;
  /** The copy of this exchange's request for request_mirror_policies, or null. */
  private RequestMirror mirror;

  // ---- circuit breakers, retries, outlier detection (state machines in resilience/, driven from here)
  private final RetryState retry = new RetryState(new java.util.SplittableRandom());
  private final RequestReplay replay = new RequestReplay();
  private final Runnable retryTask = this::publishRetry;
  private final Runnable perTryTimeoutTask = this::onPerTryTimeout;
  private CircuitBreakers.Resources breaker;
  private CircuitBreakerConfig.Thresholds thresholds;
  private boolean requestAdmitted;
  private boolean pendingAdmitted;
  /** A try waiting as pending for a connection slot (max_connections reached). */
  private final io.keelson.dataplane.resilience.ConnectionWait<UpstreamPool.Endpoint> connectionWait =
      new io.keelson.dataplane.resilience.ConnectionWait<>(this::onConnectionSlotFree);
  /** A retry is waiting for its backoff or its routing decision. */
  private boolean retrying;
  /** The request is routed again: an external check cleared the route cache after changing headers. */
  private boolean rerouting;
  /** The current try's response is being retried: its body is read and dropped. */
  private boolean discarding;
  private boolean retryExhausted;
  private java.util.concurrent.ScheduledFuture<?> perTryTimer;

  /** @param idleTimeoutNanos close the connection after this long without a read between exchanges; 0 = never */
  DownstreamHandler(ProxyContext context, String listenerName, HttpLimits limits, long idleTimeoutNanos) {
    this(context, listenerName, limits, idleTimeoutNanos, 0);
  }

  /** @param streamIdleNanos cut an exchange without progress either way for this long (stream_idle_timeout); 0 = never */
  DownstreamHandler(ProxyContext context, String listenerName, HttpLimits limits, long idleTimeoutNanos, long streamIdleNanos) {
    this.streamIdleNanos = streamIdleNanos;
    this.context = context;
    this.observer = new ExchangeObserver(context);
    this.peerExchange = new io.keelson.dataplane.stats.PeerExchange(context.stats());
    this.listenerName = listenerName;
    this.idleTimeoutNanos = idleTimeoutNanos;
    this.parser = new Http1RequestParser(this, limits);
  }

  // ======================================================================== connection events

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    timers = new ConnectionTimers(channel.eventLoop(), this, idleTimeoutNanos, streamIdleNanos);
    timers.touch();
    InetSocketAddress remote = io.keelson.dataplane.intercept.RemoteAddress.of(channel);
    String remoteIp = remote.getAddress().getHostAddress();
    remoteAddress = remoteIp + ":" + remote.getPort();
    downstream = new io.keelson.dataplane.edge.DownstreamAddress(remote);
    localAddress = io.keelson.dataplane.intercept.OriginalDestination.localAddress(channel); // restored at accept, if redirected
    ServingListener l = servingSnapshot().listener(listenerName);
    if (l != null) {
      l.stats().cxTotal.increment();
      l.stats().cxActive.increment();
      listener = l;
    }
    ctx.fireChannelActive();
  }

  /**
   * Removed from an open connection before any request (ALPN chose HTTP/2): undoes what channelActive
   * counted and scheduled, for the protocol that takes the connection over to count it.
   */
  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (listener != null && ctx.channel().isActive() && state != State.CLOSED) {
      listener.stats().cxTotal.decrement();
      listener.stats().cxActive.decrement();
      listener = null;
      if (timers != null) {
        timers.close();
      }
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    inRead = true;
    parser.feed((ByteBuf) msg);
    if (parser.isPaused() && parser.bufferedBytes() > MAX_PENDING_BODY_BYTES) {
      pauseReading(); // a client pipelining far ahead of us: stop reading, never buffer without bound
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    inRead = false;
    timers.touch();
    if (upstreamFlushPending && upstream != null) {
      upstream.channel().flush();
    }
    upstreamFlushPending = false;
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (upstream != null && held == null) {
      readUpstream(ctx.channel().isWritable());
    }
  }

  /** The upstream's reads on or off; never on while a streamed response body holds them paused. */
  private void readUpstream(boolean on) {
    upstream.channel().config().setAutoRead(on && !responseStreamPaused);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    State was = state;
    state = State.CLOSED;
    cancelExternalCheck();
    if (flag == ResponseFlag.NONE && !tunnel) { // a tunnel ends with its connections: not a cut exchange
      flag = ResponseFlag.DC;
    }
    recordExchange(); // a no-op unless the exchange was cut short, or was a tunnel
    if (listener != null) {
      listener.stats().cxActive.decrement();
      if (tunnel) {
        listener.stats().cxUpgradesActive.decrement();
      }
    }
    if (timers != null) {
      timers.close();
    }
    releasePendingBody();
    abandonMirror();
    replay.release();
    if (pendingHead != null) {
      pendingHead.release();
      pendingHead = null;
    }
    releaseResponseBody();
    releaseRequestBody();
    if (upstream != null) {
      if (was == State.FORWARDING && !responseComplete) {
        cluster.stats().rqResetBeforeResponse.increment();
      }
      endUpstreamRequest();
      upstream.detach(false);
      upstream = null;
    }
    parser.close();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    ctx.close();
  }

  /** A FIN from the client; only a tunnel allows half-closure ({@link UpgradeTunnel#passFin}). */
  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof io.keelson.dataplane.config.SniCertificate chain) {
      listenerName = chain.servingName(); // the TLS chain chosen by SNI runs its own connection manager
      return;
    }
    if (evt instanceof io.netty.channel.socket.ChannelInputShutdownEvent) {
      if (tunnel && upstream != null) {
        UpgradeTunnel.passFin(channel, upstream.channel());
      } else {
        ctx.close();
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  /** The name this connection is served under: its listener's, or its SNI-selected chain's. */
  String servingName() {
    return listenerName;
  }

  /** The downstream connection when this one is a tunnel (for the upstream's FIN), else null. */
  Channel tunnelPeer() {
    return tunnel ? channel : null;
  }

  /** Stop serving this connection politely: close it now if idle, else after the current response. */
  void drain() {
    if (state == State.IDLE) {
      channel.close();
    } else {
      closeAfterResponse = true;
    }
  }

  /** The config this connection's requests are served with: its retired listener's, else the current one. */
  private ServingSnapshot servingSnapshot() {
    return retiredFrom != null ? retiredFrom : context.snapshot();
  }

  /**
   * Drain after the listener was removed or replaced: the remaining requests are served with {@code before}
   * (the snapshot that still had the listener) and the next response closes the connection. An idle
   * connection that has served a request closes now, as in {@link #drain}; one that has not sent a request
   * yet was accepted just before the listener went, and is kept to serve that request.
   */
  void retire(ServingSnapshot before) {
    retiredFrom = before;
    if (state == State.IDLE && startNanos != 0) { // idle after a request (startNanos is set by each one)
      channel.close();
    } else {
      closeAfterResponse = true;
    }
  }

  private void abandonMirror() {
    if (mirror != null) {
      mirror.abandon();
      mirror = null;
    }
  }

  // ======================================================================== request side

  @Override
  public void onHead(Http1Request head) {
    abandonMirror();
    request = head;
    timers.startStream();
    startNanos = System.nanoTime();
    requestCompleteNanos = RouterTimingHeaders.INCOMPLETE;
    requestBytes = 0;
    responseBytes = 0;
    responseStatus = 0;
    flag = ResponseFlag.NONE;
    policy.clear();
    policyDelayDone = false;
    cancelExternalCheck();
    externalCheckStarted = false;
    exchangeSeq++; // the parser reuses one request object: identity cannot tell exchanges apart
    recorded = false;
    endpointTried = false;
    observer.reset();
    peerExchange.reset();
    requestHasBody = head.chunked() || head.contentLength() > 0;
    releaseRequestBody();
    requestStream = null; // its chunks are released by its own end (the exchange end hook, or its cancel)
    responseStream = null;
    requestStreamPaused = false;
    responseStreamPaused = false;
    streamedRequestTrailers = null;
    streamedResponseTrailers = null;
    requestCodingChosen = false;
    requestComplete = false;
    responseStarted = false;
    responseComplete = false;
    responseChunked = false;
    releaseResponseBody();
    retried = false;
    upstreamReused = false;
    requestBodySent = false;
    upgrade = null;
    connectTunnel = false;
    proxiedConnect = false;
    retrying = false;
    discarding = false;
    retryExhausted = false;
    awaitingWholeBody = false;
    bodyBuffered = false;
    pendingTrailers = null;
    closeAfterResponse = !head.keepAlive() || retiredFrom != null || context.draining();
    decided = false;
    snapshot = servingSnapshot();
    ServingListener l = snapshot.listener(listenerName);
    if (l == null) {
      // The listener left the config: serve nothing more on it.
      state = State.LOCAL_REPLY;
      closeAfterResponse = true;
      sendLocalReply(503, "listener removed", null);
      return;
    }
    listener = l;
    l.stats().rqTotal.increment();
    if (!normalizePath(head, l)) {
      return;
    }
    // Envoy's connection manager, before routing: the downstream address, internal or not, and the x-envoy-*
    // headers an external client may not set removed before the router reads them.
    // The connection's TLS, not the listener's: a PERMISSIVE listener also serves plaintext (Envoy: connection.ssl()).
    boolean tls = io.keelson.dataplane.tls.TlsPipeline.isTls(channel);
    head.secure(tls); // :scheme for route matching, as Envoy's HTTP/1 codec
    downstream.apply(head.headers(), Http1HeaderAccess.INSTANCE, l.config().http(), tls);
    peerExchange.onHead(Http1HeaderAccess.INSTANCE, head.headers()); // before the filters, as Istio's exchange
    state = State.ROUTING;
    if (!context.pipelines.current().tryPublish(this, this)) {
      flag = ResponseFlag.LR;
      sendLocalReply(503, LocalReply.OVERLOADED, null);
      return;
    }
    if (decided && channel.eventLoop().inEventLoop()) {
      onDecisionArrived();
    }
  }

  /**
   * Envoy's connection manager before any filter or route sees the request: its path normalized as the connection
   * manager says (normalize_path, merge_slashes, path_with_escaped_slashes_action), the query untouched. False when it
   * answered instead: 400 for a path it refuses, 307 to the unescaped path (400 for gRPC). CONNECT has no path.
   */
  private boolean normalizePath(Http1Request head, ServingListener l) {
    io.keelson.dataplane.edge.PathDecision d = io.keelson.dataplane.edge.PathNormalizer.decide(
        l.config().http().pathNormalization(), head.method(), head.path(), head.query(), head.header("content-type"));
    if (!d.forwarded()) {
      d.count(l.stats());
      sendLocalReply(d.status(), "", d.replyHeaders());
      return false;
    }
    if (d.path() != null) {
      head.normalizedPath(d.path());
    }
    return true;
  }

  /** Fills the routing event; runs on the event loop while it holds the claimed slot. */
  @Override
  public void fill(RoutingEvent event, DownstreamHandler self) {
    event.head = request;
    event.snapshot = snapshot;
    event.listener = listener;
    event.callback = this;
    event.ticket = routed.issue();
    event.remoteIp = downstream.address(); // the peer, or the trusted x-forwarded-for entry
    event.remoteIpFromXff = downstream.fromXff();
    // For RBAC: the peer's verified SPIFFE ID (cached per connection) and the connection's addresses.
    event.peerPrincipal = io.keelson.dataplane.tls.ForwardClientCert.peerSpiffeUri(channel);
    event.remoteAddress = io.keelson.dataplane.intercept.RemoteAddress.of(channel);
    event.peerAddress = io.keelson.dataplane.intercept.RemoteAddress.peer(channel);
    event.localAddress = localAddress;
    if (retrying) {
      event.retryCluster = cluster;
      event.hostPredicate = retry;
    }
    event.reroute = rerouting;
  }

  /**
   * The routing decision; on the balance thread for a ring, on the event loop inline. It only lands in
   * the slot: the event loop applies it ({@link #onDecisionArrived}) if it still answers this request.
   */
  @Override
  public void onRouted(RoutingEvent event) {
    routed.offer(event);
    if (channel.eventLoop().inEventLoop()) {
      decided = true;
    } else {
      channel.eventLoop().execute(decisionTask);
    }
  }

  /** Applies the slot's decision if it answers the request now routing; a late one is dropped. */
  private void onDecisionArrived() {
    if (!routed.take()) {
      return; // the request it was for ended, and a later publish owns the slot
    }
    if (state != State.ROUTING) {
      routed.discard(); // the request ended (a timeout) before its decision came back
      return;
    }
    if (routed.failed) {
      retrying = false;
      routed.discard();
      sendLocalReply(500, LocalReply.ROUTING_FAILED, null);
      return;
    }
    if (!retrying) { // a retry keeps its route and cluster
      virtualHost = routed.virtualHost;
      route = routed.route;
      weightedCluster = routed.weightedCluster;
      cluster = routed.cluster;
      if (!rerouting) { // a reroute keeps the filters' verdict: they ran for the request already
        policy.copyVerdict(routed.policy); // a retry is the same request: the filters ran for its first try
      }
    }
    rerouting = false;
    balancer = routed.balancer;
    endpoint = routed.endpoint;
    onDecision();
  }

  private void onDecision() {
    if (state != State.ROUTING) {
      return;
    }
    if (cluster != null && cluster.config().isOriginalDst()) {
      balancer = originalDstHost(); // the host is this connection's original destination, not a balancer's pick
      endpoint = balancer.pick();
    }
    if (retrying) {
      retrying = false;
      if (endpoint < 0) {
        cluster.stats().noHealthyUpstream.increment();
        flag = ResponseFlag.UH;
        sendRouterReply(503, LocalReply.NO_HEALTHY_UPSTREAM, null);
      } else {
        io.keelson.dataplane.filter.statefulsession.SessionHosts.retriedOn(policy, cluster.config(), endpoint);
        startTry();
      }
      return;
    }
    if (io.keelson.dataplane.route.RequestMatcher.isConnect(request) && !ConnectTunnel.allowed(listener.config().http())) {
      sendLocalReply(403, "", null); // Envoy: CONNECT is an upgrade the connection manager is not configured for
      return;
    }
    if (policy.delayNanos() > 0 && !policyDelayDone) {
      policyDelayDone = true;
      PolicyVerdicts.delay(channel.eventLoop(), policy.delayNanos(), request, this::onDecisionAfterDelay);
      return;
    }
    // envoy.filters.http.buffer: the whole body first, so an oversized one gets its 413 before an external check
    // (ext_authz, ext_proc) is asked, as Envoy's buffer filter stops the chain before the filters after it.
    if (policy.bufferLimit() > 0 && !bodyBuffered && !policy.hasLocalReply() && !wholeBodyRead()) {
      return; // onComplete decides again
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
      sendLocalReply(policy.status(), policy.body(), policy.replyHeaders());
      return;
    }
    if (policy.bufferLimit() > 0 && !bodyBuffered && !wholeBodyRead()) {
      return; // onComplete decides again
    }
    io.keelson.dataplane.filter.BodyCheck bodyCheck = policy.takeRequestBodyCheck();
    if (bodyCheck != null && (requestHasBody || pendingBodyBytes > 0)) { // as Envoy, no body message for no body
      startBodyCheck(bodyCheck);
      return;
    }
    if (route == null) {
      flag = ResponseFlag.NR;
      sendLocalReply(404, "", null);
      return;
    }
    switch (route.action()) {
      case RouteAction.DirectResponse direct -> {
        flag = ResponseFlag.DR;
        sendLocalReply(direct.status(), direct.body(), null,
            ForwardingHeaders.routeReplyHeaders(listener.config().http(), virtualHost, route, null));
      }
      case RouteAction.Redirect redirect ->
          sendLocalReply(redirect.status(), new byte[0], null, ForwardingHeaders.routeReplyHeaders(listener.config().http(),
              virtualHost, route, Redirects.location(redirect, request, route.match().matchedPrefixLength(request))));
      case RouteAction.Forward forward -> forward(requestTimeouts(forward));
    }
  }

  /**
   * The route's action with this request's x-envoy-upstream-rq-timeout-ms / -per-try-timeout-ms applied (Envoy's
   * router takes its timeouts from them), which are removed from the request, as Envoy's router does.
   */
  private RouteAction.Forward requestTimeouts(RouteAction.Forward forward) {
    String timeout = request.header(io.keelson.dataplane.resilience.TimeoutHeaders.UPSTREAM_RQ_TIMEOUT_MS);
    String perTry = request.header(io.keelson.dataplane.resilience.TimeoutHeaders.UPSTREAM_RQ_PER_TRY_TIMEOUT_MS);
    if (timeout == null && perTry == null) {
      forwarding = forward;
      return forward;
    }
    request.headers().remove(io.keelson.dataplane.resilience.TimeoutHeaders.UPSTREAM_RQ_TIMEOUT_MS);
    request.headers().remove(io.keelson.dataplane.resilience.TimeoutHeaders.UPSTREAM_RQ_PER_TRY_TIMEOUT_MS);
    forwarding = io.keelson.dataplane.resilience.TimeoutHeaders.apply(forward, timeout, perTry);
    return forwarding;
  }

  /**
   * The ORIGINAL_DST host of this request: the address in the cluster's use_http_header header when it names one,
   * else the connection's original destination (none when the connection was not redirected: 503 UH).
   */
  private LoadBalancer originalDstHost() {
    String header = io.keelson.dataplane.intercept.OriginalDstHost.header(cluster.config().originalDst());
    if (header != null) {
      var named = io.keelson.dataplane.intercept.OriginalDstHost.fromHeader(request.header(header));
      if (named != null) {
        return named;
      }
    }
    if (originalDst == null) {
      originalDst = io.keelson.dataplane.intercept.OriginalDstHost.of(channel);
    }
    return originalDst;
  }

  /**
   * Starts the filters' external check (ext_authz) of the request; the decision goes on when it answers, on
   * this event loop, if the request is still waiting for it (a client gone meanwhile drops the answer).
   */
  private void startExternalCheck() {
    Http1Request checked = request;
    long seq = exchangeSeq;
    Http1Headers headers = checked.headers();
    // The filters before the check changed headers (jwt_authn: the token removed, claims set): the check sees the
    // request as they left it, as Envoy's filters edit headers in place; applied once, not again when forwarded.
    HeaderRewriter.apply(headers, policy.requestHeaders());
    policy.mutateRequestHeaders(null);
    externalCheck = policy.externalCheck().start(new io.keelson.dataplane.filter.CheckedRequest(channel.eventLoop(), context.pool().calls(),
        snapshot, checked, fieldsOf(headers), !checked.chunked() && checked.contentLength() == 0, downstream.address(), io.keelson.dataplane.intercept.RemoteAddress.of(channel), localAddress,
        io.keelson.dataplane.tls.TlsPipeline.isTls(channel), io.keelson.dataplane.tls.ForwardClientCert.peerSpiffeUri(channel)),
        outcome -> onExternalCheck(checked, seq, outcome));
  }

  private void onExternalCheck(Http1Request checked, long seq, io.keelson.dataplane.filter.CheckOutcome outcome) {
    if (seq != exchangeSeq || request != checked || state != State.ROUTING) {
      return; // a stale answer (normally cancelled first) never applies to a later exchange
    }
    externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
    if (!outcome.allowed()) {
      sendCheckReply(outcome);
      return;
    }
    HeaderRewriter.apply(checked.headers(), outcome.upstreamHeaders());
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
      flag = ResponseFlag.LR;
      sendLocalReply(503, LocalReply.OVERLOADED, null);
    }
  }

  /** Publishes the request to the routing pipeline again (a retry, a reroute); false when the pipeline is full. */
  private boolean publishAgain() {
    decided = false;
    if (!context.pipelines.current().tryPublish(this, this)) {
      return false;
    }
    if (decided && channel.eventLoop().inEventLoop()) {
      onDecisionArrived();
    }
    return true;
  }

  /** The fields of {@code headers} as a check sees them, in order. */
  private static io.keelson.dataplane.filter.CheckedRequest.HeaderSource fieldsOf(Http1Headers headers) {
    return visitor -> {
      for (int i = 0; i < headers.size(); i++) {
        visitor.accept(headers.name(i), headers.value(i));
      }
    };
  }

  /** A check's denial: its local reply; the reply's own fields (the server's content-type replaces text/plain). */
  private void sendCheckReply(io.keelson.dataplane.filter.CheckOutcome outcome) {
    flag = outcome.flag();
    Http1Headers fields = new Http1Headers();
    PolicyVerdicts.addResponseHeaders(outcome.replyHeaders(), fields::add);
    sendLocalReply(outcome.status(), outcome.body().getBytes(java.nio.charset.StandardCharsets.UTF_8), null, fields);
  }

  /** Starts the filters' check of the whole request body (read by {@link #wholeBodyRead}); the decision goes on after. */
  private void startBodyCheck(io.keelson.dataplane.filter.BodyCheck check) {
    Http1Request checked = request;
    long seq = exchangeSeq;
    byte[] body = io.keelson.dataplane.filter.CheckedBody.copy(pendingBody);
    Http1Headers headers = checked.headers();
    externalCheck = check.start(new io.keelson.dataplane.filter.CheckedBody(channel.eventLoop(), context.pool().calls(),
        snapshot, fieldsOf(headers), body), outcome -> onBodyCheck(checked, seq, outcome));
  }

  private void onBodyCheck(Http1Request checked, long seq, io.keelson.dataplane.filter.CheckOutcome outcome) {
    if (seq != exchangeSeq || request != checked || state != State.ROUTING) {
      return; // a stale answer (normally cancelled first)
    }
    externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
    if (!outcome.allowed()) {
      sendCheckReply(outcome);
      return;
    }
    HeaderRewriter.apply(checked.headers(), outcome.upstreamHeaders());
    byte[] replacement = outcome.replacementBody();
    if (replacement != null) {
      releasePendingBody();
      pendingBody.addLast(Unpooled.wrappedBuffer(replacement));
      pendingBodyBytes = replacement.length;
      checked.bodyBuffered(replacement.length);
    }
    onDecision();
  }

  /** As Envoy cancels the check when the stream goes: frees the authorization cluster's slot and connection. */
  private void cancelExternalCheck() {
    io.keelson.dataplane.http2.UpstreamCalls.Call c = externalCheck;
    externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
    c.cancel();
    dropHeldResponse();
    if (requestEnd != null) {
      requestEnd.release();
      requestEnd = null;
    }
    if (responseEnd != null) {
      responseEnd.release();
      responseEnd = null;
    }
  }

  /**
   * ext_proc trailers SEND: when a filter asked for the check of this message's trailers and it has some, its end
   * waits for the check (with a copy of the parser's trailers), then {@code then} goes on with the trailers changed,
   * or the exchange is denied; false when not checked.
   */
  private boolean holdForTrailers(Http1Headers trailers, boolean response,
      java.util.function.Consumer<Http1Headers> then) {
    if (trailers == null || trailers.isEmpty()) {
      return false;
    }
    io.keelson.dataplane.filter.TrailersCheck check = response ? policy.takeResponseTrailersCheck()
        : policy.takeRequestTrailersCheck();
    if (check == null) {
      return false;
    }
    Http1Headers copy = new Http1Headers(trailers.size());
    copy.copyFrom(trailers);
    StreamedSink exchange = new StreamedSink(response); // how a denial ends this exchange, as a denied body's
    var held = new io.keelson.dataplane.filter.HeldTrailers<Http1Headers>(check, copy, channel.eventLoop(),
        context.pool().calls(), snapshot, fieldsOf(copy), t -> { }, (t, outcome) -> {
          if (!outcome.allowed()) {
            exchange.denied(outcome);
          } else {
            HeaderRewriter.apply(t, outcome.upstreamHeaders());
            then.accept(t);
          }
        });
    if (response) {
      responseEnd = held;
    } else {
      requestEnd = held;
    }
    return true;
  }

  /** The exchange ends (or its upstream went) while its response is held: the response check is no longer wanted. */
  private void dropHeldResponse() {
    HeldResponse h = held;
    if (h != null) {
      held = null;
      externalCheck.cancel();
      externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
      h.release();
    }
  }

  private void onDecisionAfterDelay(Http1Request delayed) {
    if (request == delayed) {
      onDecision();
    }
  }

  private void forward(RouteAction.Forward forward) {
    if (cluster == null) {
      flag = ResponseFlag.NC;
      sendRouterReply(503, LocalReply.CLUSTER_NOT_FOUND, null);
      return;
    }
    if (io.keelson.dataplane.filter.grpcjson.GrpcJsonUpstreamCodec.refuses(policy.transcoded(), cluster.config())) {
      cluster.stats().transcoderNotHttp2.increment();
      sendRouterReply(503, io.keelson.dataplane.filter.grpcjson.GrpcJsonUpstreamCodec.NOT_HTTP2, null);
      return;
    }
    if (endpoint < 0) {
      cluster.stats().noHealthyUpstream.increment();
      flag = ResponseFlag.UH;
      sendRouterReply(503, LocalReply.NO_HEALTHY_UPSTREAM, null);
      return;
    }
    if (io.keelson.dataplane.route.RequestMatcher.isConnect(request)) {
      if (ConnectTunnel.disabled(forward)) {
        sendLocalReply(403, "", null);
        return;
      }
      connectTunnel = ConnectTunnel.terminates(forward);
      proxiedConnect = !connectTunnel;
      closeAfterResponse = true; // the connection is the tunnel's, or (a refusal) closed after the answer
    } else if (request.upgrade()) {
      upgrade = UpgradeTunnel.check(request, listener.config().http(), forward);
      if (upgrade == UpgradeTunnel.REFUSED) {
        upgrade = null;
        sendLocalReply(403, "", null); // Envoy: upgrade_failed
        return;
      }
    }
    thresholds = cluster.config().circuitBreakers().of(forward.highPriority());
    breaker = cluster.resilience().breakers().of(forward.highPriority());
    if (!breaker.tryAcquireRequest(thresholds)) {
      cluster.stats().rqPendingOverflow.increment();
      overflow();
      return;
    }
    requestAdmitted = true;
    if (connectTunnel) {
      startTry(); // no retries, rewrites, mirrors or trace headers: nothing of the request goes upstream
      return;
    }
    if (!proxiedConnect) { // a proxied CONNECT is never retried (its tunnel bytes cannot be replayed), as Envoy's
      retry.begin(io.keelson.dataplane.resilience.RetryHeaders.apply(forward.retryPolicy(),
          request.header(io.keelson.dataplane.resilience.RetryHeaders.RETRY_ON),
          request.header(io.keelson.dataplane.resilience.RetryHeaders.MAX_RETRIES)), breaker, thresholds, cluster.stats());
      if (retry.enabled() && requestHasBody) {
        replay.start(retry.policy().perRequestBufferLimitBytes());
      }
    }
    streamRequestBody();
    if (requestComplete) {
      requestCompleteNanos = System.nanoTime();
      startTimeout(); // the request ended while it was being routed on the ring
    }
    boolean expectContinue = request.expectContinue() && !bodyBuffered;
    if (!codeRequestBody()) {
      return;
    }
    ForwardingHeaders.prepareRequest(request, listener.config().http(), virtualHost, route, forward, weightedCluster);
    HeaderRewriter.apply(request.headers(), policy.requestHeaders()); // e.g. jwt_authn: token removed, payload added
    ForwardingHeaders.framing(request);
    io.keelson.dataplane.filter.CodedBody.onForwardedRequest(policy, Http1HeaderAccess.INSTANCE, request.headers());
    listener.config().http().forwardClientCert().apply(channel, request.headers()::getAll, // every client XFCC field, joined
        (n, v) -> { if (v == null) { request.headers().remove(n); } else { request.headers().set(n, v); } });
    peerExchange.onRequest(Http1HeaderAccess.INSTANCE, request.headers(), cluster.name(),
        io.keelson.dataplane.tls.ClientTls.inMesh(cluster.config().tls(balancer.endpoint(endpoint))),
        io.keelson.dataplane.accesslog.DownstreamTls.of(channel).peerUriSan());
    io.keelson.dataplane.stats.IstioMetricsConfig metrics = listener.filters().istioMetrics();
    boolean addresses = metrics != null && metrics.needsAddresses();
    peerExchange.onRequestTags(metrics, Http1HeaderAccess.INSTANCE, request.headers(), request.method(), request.uri(),
        addresses ? io.keelson.dataplane.intercept.RemoteAddress.of(channel) : null, addresses ? localAddress : null);
    if (upgrade != null) {
      UpgradeTunnel.restoreRequestHeaders(request, upgrade);
    }
    // trailers a filter checks (ext_proc) reach the mirror as checked, once answered (writeCheckedRequestEnd)
    boolean mirrorEnd = requestComplete && !(pendingTrailers != null && !pendingTrailers.isEmpty()
        && policy.checksRequestTrailers());
    mirror = upgrade != null || proxiedConnect || forward.mirrors().isEmpty() ? null : RequestMirror.start(forward.mirrors(),
        forward.timeout(), snapshot, context.stats(), context.pool().shadows(), channel.eventLoop(), request, pendingBody,
        mirrorEnd ? pendingTrailers : null, mirrorEnd);
    observer.trace(listener.config().http().tracing(), request, request.version().toString(),
        traceHeaders, startNanos, downstream.address()); // the connection manager's downstream address
    if (expectContinue) {
      channel.writeAndFlush(Unpooled.wrappedBuffer(Http1Wire.CONTINUE_100.duplicate()));
    }
    startTry();
  }

  /**
   * envoy.filters.http.buffer: whether the whole body is here, within the limit (then it goes on with a content-length);
   * else either reading the rest (a 100 Continue first if the client waits for one) or, over the limit, answered 413.
   */
  private boolean wholeBodyRead() {
    long limit = policy.bufferLimit();
    if (request.contentLength() > limit || pendingBodyBytes > limit) {
      payloadTooLarge();
      return false;
    }
    if (!requestComplete) {
      if (!awaitingWholeBody) {
        awaitingWholeBody = true;
        if (request.expectContinue()) {
          channel.writeAndFlush(Unpooled.wrappedBuffer(Http1Wire.CONTINUE_100.duplicate()));
        }
      }
      resumeReading();
      return false;
    }
    awaitingWholeBody = false;
    bodyBuffered = true;
    if (request.chunked()) {
      request.bodyBuffered(pendingBodyBytes);
      pendingTrailers = null; // a content-length body has no trailers (Envoy's buffer filter drops them too)
    }
    return true;
  }

  /** Envoy's buffer filter over max_request_bytes: 413, and the connection closes (the rest of the body is unread). */
  private void payloadTooLarge() {
    awaitingWholeBody = false;
    closeAfterResponse = true;
    sendLocalReply(413, "Payload Too Large", null);
  }

  /**
   * The filters' request body codings, chosen once per exchange on the head as the filters left it (before the router's
   * header changes): a coded body goes on chunked; what was read already is coded now. False when the body was refused.
   */
  private boolean codeRequestBody() {
    if (requestCodingChosen || !requestHasBody || upgrade != null || proxiedConnect) {
      return true;
    }
    requestCodingChosen = true;
    requestBody = io.keelson.dataplane.filter.CodedBody.request(policy, Http1HeaderAccess.INSTANCE, request.headers());
    if (requestBody == null) {
      return true;
    }
    request.bodyCoded();
    int n = pendingBody.size();
    pendingBodyBytes = 0;
    for (int i = 0; i < n; i++) {
      ByteBuf coded = codeRequestChunk(pendingBody.pollFirst(), false);
      if (coded == null) {
        return false;
      }
      pendingBody.addLast(coded);
      pendingBodyBytes += coded.readableBytes();
    }
    if (requestComplete) {
      ByteBuf tail = codeRequestChunk(Unpooled.EMPTY_BUFFER, true);
      if (tail == null) {
        return false;
      }
      pendingBody.addLast(tail);
      pendingBodyBytes += tail.readableBytes();
    }
    return true;
  }

  /**
   * ext_proc STREAMED request body: from here on its chunks go through the processor before they go on (forwarded
   * chunked, as their size may change), and the request's end after the last one's answer; what was read while the
   * request was routed goes first, the end too if it came already.
   */
  private void streamRequestBody() {
    io.keelson.dataplane.filter.StreamedBodyCheck check = policy.takeRequestBodyStream();
    if (check == null || !requestHasBody || upgrade != null || proxiedConnect) {
      return;
    }
    request.bodyCoded();
    requestStream = check.start(channel.eventLoop(), context.pool().calls(), snapshot, new StreamedSink(false));
    boolean complete = requestComplete;
    requestComplete = false;
    streamedRequestTrailers = pendingTrailers != null ? pendingTrailers : new Http1Headers(0);
    pendingTrailers = null;
    pendingBodyBytes = 0;
    for (int i = 0, n = pendingBody.size(); i < n && requestStream != null; i++) {
      requestStream.offer(pendingBody.pollFirst(), false, false);
    }
    if (complete && requestStream != null) {
      requestStream.offer(Unpooled.EMPTY_BUFFER, true, streamedRequestTrailers.size() > 0);
    }
  }

  /**
   * The connection's side of a STREAMED body ({@link io.keelson.dataplane.filter.StreamedBodyCheck}) of one exchange:
   * what comes back goes on where the chunk was going, the end after the last; late calls (after the exchange) are
   * dropped.
   */
  private final class StreamedSink implements io.keelson.dataplane.filter.StreamedBodyCheck.Sink {
    private final long seq = exchangeSeq;
    private final boolean response;

    StreamedSink(boolean response) {
      this.response = response;
    }

    @Override
    public void forward(ByteBuf chunk, boolean last) {
      if (seq != exchangeSeq || state == State.CLOSED || state == State.LOCAL_REPLY) {
        chunk.release();
        return;
      }
      if (response) {
        if (chunk.isReadable()) {
          writeResponseBody(chunk);
        } else {
          chunk.release();
        }
        if (last) {
          responseStream = null;
          onResponseComplete(streamedResponseTrailers);
        } else {
          channel.flush();
        }
        return;
      }
      if (chunk.isReadable()) {
        onProcessedBody(chunk);
      } else {
        chunk.release();
      }
      if (last && requestStream != null) {
        requestStream = null;
        Http1Headers trailers = streamedRequestTrailers;
        streamedRequestTrailers = null;
        onComplete(trailers);
      }
    }

    @Override
    public void denied(io.keelson.dataplane.filter.CheckOutcome outcome) {
      if (seq != exchangeSeq || state == State.CLOSED || state == State.LOCAL_REPLY) {
        return;
      }
      if (response) {
        responseStream = null;
        channel.close(); // the response head went: cut, as Envoy resets a stream whose headers were sent
        return;
      }
      requestStream = null;
      dropRequest(() -> sendCheckReply(outcome));
    }

    @Override
    public void pause() {
      if (seq != exchangeSeq) {
        return;
      }
      if (!response) {
        requestStreamPaused = true;
        pauseReading();
      } else if (upstream != null) {
        responseStreamPaused = true;
        upstream.channel().config().setAutoRead(false);
      }
    }

    @Override
    public void resume() {
      if (seq != exchangeSeq) {
        return;
      }
      if (!response) {
        requestStreamPaused = false;
        if (upstream == null || upstream.channel().isWritable()) {
          resumeReading();
        }
      } else {
        responseStreamPaused = false;
        if (upstream != null && !responseComplete) {
          readUpstream(channel.isWritable());
        }
      }
    }
  }

  /**
   * The request body cannot go on: the upstream request is dropped, answered by {@code reply} when no response has
   * started, else the connection closes.
   */
  private void dropRequest(Runnable reply) {
    releasePendingBody();
    closeAfterResponse = true;
    if (upstream != null) {
      endUpstreamRequest();
      upstream.detach(false); // the upstream saw part of the body: never reuse that connection
      upstream = null;
    }
    cancelPerTryTimer();
    if (!responseStarted && state != State.CLOSED) {
      state = State.LOCAL_REPLY;
      reply.run();
    } else {
      channel.close();
    }
  }

  /**
   * One request body chunk through the codings; null when they refuse the body (a corrupt gzip body: 400, a
   * decompression bomb: 413, or the connection closed once a response has started): the upstream request is dropped.
   */
  private ByteBuf codeRequestChunk(ByteBuf content, boolean last) {
    try {
      ByteBuf out = requestBody.apply(content, last, channel.alloc());
      if (last) {
        requestBody = null; // released by its last chunk
      }
      return out;
    } catch (io.keelson.dataplane.filter.BodyStage.BodyCodingException e) {
      requestBody = null; // released by apply
      dropRequest(() -> sendLocalReply(e.status(), e.status() == 413 ? "Payload Too Large" : "Bad Request", null));
      return null;
    }
  }

  private void releaseRequestBody() {
    if (requestBody != null) {
      requestBody.release();
      requestBody = null;
    }
  }

  /** Starts one try of the request on {@link #endpoint}: a pooled connection, or a new one. */
  private void startTry() {
    peerExchange.onTry(Http1HeaderAccess.INSTANCE, request.headers(), // per try: matches may mix mTLS and plaintext
        io.keelson.dataplane.tls.ClientTls.inMesh(cluster.config().tls(balancer.endpoint(endpoint))));
    balancer.onRequestStart(endpoint);
    endpointAccounted = true;
    endpointTried = true;
    retry.onHostTried(endpoint);
    cluster.stats().rqTotal.increment();
    cluster.stats().rqActive.increment();
    if (retry.policy() != null && !retry.policy().perTryTimeout().isZero()) {
      perTryTimer = channel.eventLoop().schedule(perTryTimeoutTask, retry.policy().perTryTimeout().toNanos(),
          java.util.concurrent.TimeUnit.NANOSECONDS);
    }
    UpstreamPool pool = context.pool();
    UpstreamPool.Endpoint ep = pool.endpoint(balancer.endpoint(endpoint), cluster);
    UpstreamHandler idle = connectTunnel ? null : pool.pollIdle(ep); // a tunnel's connection is its own, never pooled
    if (idle != null) {
      upstreamReused = true;
      attachAndSend(idle);
    } else {
      connectNew(pool, ep);
    }
  }

  private void connectNew(UpstreamPool pool, UpstreamPool.Endpoint ep) {
    if (breaker == null) {
      breaker = cluster.resilience().breakers().of(false);
      thresholds = cluster.config().circuitBreakers().defaultPriority();
    }
    if (!pendingAdmitted) {
      if (!breaker.tryAcquirePending(thresholds)) {
        cluster.stats().rqPendingOverflow.increment();
        endUpstreamRequest();
        overflow();
        return;
      }
      pendingAdmitted = true;
    }
    // An HTTP/1.1 connection takes a max_connections slot here; for an HTTP/2 cluster a stream takes none
    // and the pool takes one per real connection it opens (Envoy: max_requests bounds the streams).
    boolean http2 = !connectTunnel && cluster.config().http2Upstream(); // a CONNECT tunnel is raw TCP to any cluster
    if (!http2 && !breaker.tryAcquireConnection(thresholds)) {
      awaitConnectionSlot(ep);
      return;
    }
    UpstreamHandler h = new UpstreamHandler(pool, ep, cluster);
    io.netty.util.concurrent.Future<?> f = connectTunnel ? pool.connectTcp(channel.eventLoop(), ep, cluster, h)
        : pool.connect(channel.eventLoop(), ep, cluster, h, breaker, thresholds);
    if (f == null) {
      awaitConnectionSlot(ep); // every HTTP/2 connection is full and max_connections is reached
      return;
    }
    state = State.CONNECTING;
    connecting = h;
    CircuitBreakers.Resources held = http2 ? null : breaker;
    h.breaker = held;
    f.addListener(r -> {
      // An HTTP/1.1 connection holds its breaker slot until it closes.
      if (held != null) {
        if (h.channel() != null) {
          h.channel().closeFuture().addListener(c -> held.releaseConnection());
        } else {
          held.releaseConnection();
        }
      }
      if (connecting != h || state != State.CONNECTING) {
        if (h.channel() != null) {
          h.channel().close(); // the exchange ended (timeout, client gone) while connecting
        }
        return;
      }
      onConnected(r);
    });
  }

  /** max_connections reached: wait as pending (the pending slot is held) until a connection or stream frees up, as Envoy. */
  private void awaitConnectionSlot(UpstreamPool.Endpoint ep) {
    cluster.stats().cxOverflow.increment();
    state = State.CONNECTING;
    connectionWait.await(channel.eventLoop(), breaker, thresholds, ep);
  }

  /** Woken on the event loop while waiting for a connection slot: a pooled connection, or a new one. */
  private void onConnectionSlotFree(UpstreamPool.Endpoint ep) {
    UpstreamPool pool = context.pool();
    UpstreamHandler idle = connectTunnel ? null : pool.pollIdle(ep);
    if (idle != null) {
      releasePendingAdmission();
      upstreamReused = true;
      attachAndSend(idle);
    } else {
      connectNew(pool, ep);
    }
  }

  /** A circuit breaker is open: Envoy's immediate 503 with flag UO. */
  private void overflow() {
    cancelTimeout();
    flag = ResponseFlag.UO;
    // The router's own header, left out with suppress_envoy_headers (as Envoy's onUpstreamAbort).
    sendRouterReply(503, LocalReply.OVERFLOW,
        listener != null && listener.config().http().suppressEnvoyHeaders() ? null : LocalReply.OVERLOADED_HEADER);
  }

  /** A new upstream connection (or, for an HTTP/2 cluster, a new stream) for {@link #connecting}. */
  private void onConnected(io.netty.util.concurrent.Future<?> future) {
    UpstreamHandler h = connecting;
    connecting = null;
    releasePendingAdmission();
    if (future.isSuccess()) {
      if (connectTunnel) {
        openConnectTunnel(h);
      } else {
        attachAndSend(h);
      }
      return;
    }
    if (future.cause() instanceof ConnectTimeoutException) {
      cluster.stats().cxConnectTimeout.increment();
    }
    cluster.stats().cxConnectFail.increment();
    reportLocalFailure();
    endUpstreamRequest();
    if (retry.enabled() && retry.retriableConnectFailure() && maybeRetry()) {
      return;
    }
    cancelTimeout();
    flag = retryExhausted ? ResponseFlag.URX : ResponseFlag.UF;
    sendRouterReply(503, UpstreamTlsConnect.connectFailureBody(future.cause()), null);
  }

  /**
   * The CONNECT target's connection is up: record the exchange as a 200 now (as a WebSocket upgrade's 101 is), then
   * relay raw bytes until either side closes; the stream idle timeout keeps running (bytes either way reset it).
   */
  private void openConnectTunnel(UpstreamHandler h) {
    upstream = h;
    state = State.FORWARDING;
    h.attach(this, request.method());
    responseStatus = 200;
    responseStarted = true;
    responseComplete = true;
    cancelTimeout();
    cluster.stats().recordResponse(200);
    listener.stats().recordResponse(200);
    endResilience(); // logged when the tunnel ends, with its bytes (channelInactive)
    tunnel = true;
    listener.stats().cxUpgradesTotal.increment();
    listener.stats().cxUpgradesActive.increment();
    Channel up = h.channel();
    ByteBuf chunk;
    while ((chunk = pendingBody.pollFirst()) != null) {
      up.write(chunk, up.voidPromise());
    }
    pendingBodyBytes = 0;
    ConnectTunnel.open(channel, h, parser);
    up.flush();
    if (readPaused && up.isWritable()) {
      resumeReading();
    }
  }

  private void attachAndSend(UpstreamHandler h) {
    upstream = h;
    state = State.FORWARDING;
    h.attach(this, request.method());
    io.keelson.dataplane.filter.grpcweb.GrpcWebUpstreamCodec.install(h.channel(), policy.grpcWeb()); // an HTTP/2 cluster's stream
    io.keelson.dataplane.filter.grpcjson.GrpcJsonUpstreamCodec.install(h.channel(), policy.transcoded());
    if (virtualHost != null && virtualHost.includeRequestAttemptCount()) {
      request.headers().set(io.keelson.dataplane.resilience.RetryHeaders.ATTEMPT_COUNT, Integer.toString(retry.retriesDone() + 1));
    }
    if (retry.retriesDone() > 0 && forwarding != null) { // a retry: what is left of the timeout
      ForwardingHeaders.expectedTimeout(request.headers(), listener.config().http(), forwarding,
          Math.max(0, RouterTimingHeaders.msSince(requestCompleteNanos)));
    }
    Channel up = h.channel();
    ByteBuf head = up.alloc().ioBuffer(256 + request.headers().size() * 32);
    request.encodeTo(head);
    up.write(head, up.voidPromise());
    for (int i = 0, n = replay.chunkCount(); i < n; i++) {
      writeBodyOnce(replay.chunk(i)); // a retry: what the earlier try sent, again
    }
    ByteBuf chunk;
    while ((chunk = pendingBody.pollFirst()) != null) {
      writeBody(chunk);
    }
    pendingBodyBytes = 0;
    // a retry while the end waits for its check: the answer writes it (never the client's unchecked trailers)
    if (requestComplete && !requestEndHeld()
        && !holdForTrailers(pendingTrailers, false, this::writeCheckedRequestEnd)) {
      writeRequestEnd(pendingTrailers);
    }
    up.flush();
    if (readPaused && up.isWritable()) {
      resumeReading();
    }
  }

  @Override
  public void onBody(ByteBuf content) {
    requestBytes += content.readableBytes();
    if (requestStream != null) {
      requestStream.offer(content, false, false);
      return;
    }
    onProcessedBody(content);
  }

  /** A body chunk after any STREAMED processor: through the codings, then on. */
  private void onProcessedBody(ByteBuf content) {
    if (requestBody != null && (content = codeRequestChunk(content, false)) == null) {
      return;
    }
    passBody(content);
  }

  /** A body chunk as the filters left it: to the mirror, then upstream or held until the upstream is there. */
  private void passBody(ByteBuf content) {
    if (mirror != null && !mirror.onBody(content)) {
      mirror = null;
    }
    switch (state) {
      case FORWARDING -> {
        writeBody(content);
        flushUpstreamSoon();
        if (!upstream.channel().isWritable()) {
          pauseReading();
        }
      }
      case ROUTING, CONNECTING -> {
        pendingBody.addLast(content);
        pendingBodyBytes += content.readableBytes();
        if (awaitingWholeBody) {
          if (pendingBodyBytes > policy.bufferLimit()) {
            payloadTooLarge();
          }
        } else if (pendingBodyBytes > MAX_PENDING_BODY_BYTES) {
          pauseReading();
        }
      }
      default -> content.release();
    }
  }

  @Override
  public void onComplete(Http1Headers trailers) {
    if (requestStream != null) { // the end goes on after the last chunk's answer
      streamedRequestTrailers = new Http1Headers(trailers.size());
      streamedRequestTrailers.copyFrom(trailers);
      requestStream.offer(Unpooled.EMPTY_BUFFER, true, trailers.size() > 0);
      return;
    }
    // checked once the verdict is known: here while forwarding, else as the pending end is written (forward)
    if (state == State.FORWARDING && holdForTrailers(trailers, false, this::onComplete)) {
      return;
    }
    if (requestBody != null) {
      ByteBuf tail = codeRequestChunk(Unpooled.EMPTY_BUFFER, true);
      if (tail == null) {
        return;
      }
      passBody(tail);
    }
    requestComplete = true;
    if (state == State.FORWARDING || state == State.CONNECTING || retrying) { // else forward() notes it
      requestCompleteNanos = System.nanoTime();
    }
    if (mirror != null) {
      mirror.onComplete(RequestMirror.trailers(trailers));
      mirror = null;
    }
    switch (state) {
      case FORWARDING -> {
        writeRequestEnd(trailers);
        flushUpstreamSoon();
        startTimeout();
        if (retry.enabled()) {
          savePendingTrailers(trailers); // kept for a retry
        }
      }
      case CONNECTING -> {
        startTimeout();
        savePendingTrailers(trailers);
      }
      case ROUTING -> {
        savePendingTrailers(trailers); // the timeout starts once the route is known
        if (awaitingWholeBody) {
          onDecision(); // the buffered body is whole: the decision goes on
        }
      }
      default -> {}
    }
    if (responseComplete) {
      finishExchange();
    }
  }

  private void savePendingTrailers(Http1Headers trailers) {
    if (!trailers.isEmpty()) {
      pendingTrailers = new Http1Headers(trailers.size());
      pendingTrailers.copyFrom(trailers);
    }
  }

  @Override
  public void onError(Http1ParseException e) {
    if (listener != null) {
      listener.stats().rqRejectedBadRequest.increment();
    }
    flag = ResponseFlag.DPE;
    closeAfterResponse = true;
    if (upstream != null) {
      // A request that turned bad mid-body: the upstream saw only a prefix; never reuse that connection.
      endUpstreamRequest();
      upstream.detach(false);
      upstream = null;
    }
    if (!responseStarted && state != State.CLOSED) {
      state = State.LOCAL_REPLY;
      sendLocalReply(e.status(), "", null);
    } else {
      channel.close();
    }
  }

  private void writeBody(ByteBuf content) {
    replay.record(content);
    writeBodyOnce(content);
  }

  private void writeBodyOnce(ByteBuf content) {
    requestBodySent = true;
    Channel up = upstream.channel();
    if (request.chunked()) {
      Http1Wire.writeChunk(up, content);
    } else {
      up.write(content, up.voidPromise());
    }
  }

  /** The request's end waits for its trailers' check: not written upstream yet, so its connection is not reusable. */
  private boolean requestEndHeld() {
    return requestEnd != null && requestEnd.holding();
  }

  /** The whole request, end included, went upstream: only then may its connection go back to the pool. */
  private boolean requestSent() {
    return requestComplete && !requestEndHeld();
  }

  /** A request end that waited for its trailers' check while the request was forwarded whole (kept for a retry). */
  private void writeCheckedRequestEnd(Http1Headers trailers) {
    pendingTrailers = trailers;
    if (mirror != null) { // the request ended while routing: its mirror waited for the checked trailers
      mirror.onComplete(RequestMirror.trailers(trailers));
      mirror = null;
    }
    if (state == State.FORWARDING && upstream != null) {
      writeRequestEnd(trailers);
      upstream.channel().flush();
    }
  }

  private void writeRequestEnd(Http1Headers trailers) {
    if (request.chunked()) {
      Http1Wire.writeLastChunk(upstream.channel(), trailers);
    }
  }

  private void flushUpstreamSoon() {
    if (inRead) {
      upstreamFlushPending = true;
    } else {
      upstream.channel().flush();
    }
  }

  /**
   * Backpressure is autoRead only: what one read delivered is bounded, and the parser's own pause is
   * kept for sequencing exchanges (it pauses after each request).
   */
  private void pauseReading() {
    if (!readPaused) {
      readPaused = true;
      channel.config().setAutoRead(false);
    }
  }

  /** Reading on, unless a streamed request body holds it paused ({@link StreamedSink#pause}). */
  private void resumeReading() {
    if (readPaused && !requestStreamPaused) {
      readPaused = false;
      channel.config().setAutoRead(true);
    }
  }

  // ======================================================================== response side

  void onResponseHead(Http1Response response) {
    int status = response.status(); // never 1xx: UpstreamHandler skips informational responses
    cancelPerTryTimer();
    OutlierDetector detector = cluster.resilience().detector();
    if (detector != null) {
      detector.onResponse(endpoint, status, startNanos); // the request's start: no clock read per response
    }
    if (retry.enabled()) {
      boolean retriable = retry.retriableStatus(status, retry.wantsGrpcStatus() ? response.headers().get("grpc-status") : null);
      if (retriable && canRetry()) {
        RetryState.Decision d = retry.tryRetry();
        if (d == RetryState.Decision.RETRY) {
          // As Envoy: a retried response that ended with its head (no body) and a request sent in full keep
          // the connection; any body byte means the rest is dropped with the connection (or the HTTP/2 stream
          // reset) and the retry goes at once (onResponseBody).
          discarding = true;
          cluster.stats().recordResponse(status);
          return;
        }
        retryExhausted = d == RetryState.Decision.LIMIT_EXCEEDED;
      }
      retry.onFinalResponse(retriable);
      if (retryExhausted) {
        flag = ResponseFlag.URX;
      }
    }
    responseStatus = status;
    if ((status == 101 && upgrade != null) || (proxiedConnect && status >= 200 && status < 300)) {
      switchToTunnel(response);
      return;
    }
    io.keelson.dataplane.filter.ResponseCheck check = policy.takeResponseCheck();
    if (check != null) {
      holdResponse(response, check);
      return;
    }
    continueResponse(response, null);
  }

  /**
   * The final response after any response-head check: relayed (with what {@code h} held), or, when a filter checks
   * the whole response body (ext_proc's BUFFERED response body), held until it ended.
   */
  private void continueResponse(Http1Response response, HeldResponse h) {
    io.keelson.dataplane.filter.BodyCheck bodyCheck = policy.takeResponseBodyCheck();
    if (bodyCheck != null && !(request.method().equals("HEAD") || response.status() == 204 || response.status() == 304
        || (!response.chunked() && response.contentLength() == 0))) {
      HeldResponse b = h != null ? h : new HeldResponse(response);
      b.awaited().await(bodyCheck);
      held = b;
      if (b.complete()) {
        startResponseBodyCheck(b);
      } else if (upstream != null) {
        readUpstream(true);
      }
      return;
    }
    relayHeld(response, h);
  }

  /** The final response head to the client, then what {@code h} (when not null) held, and reading on. */
  private void relayHeld(Http1Response response, HeldResponse h) {
    relayResponseHead(response);
    if (h != null) {
      h.replay(this);
      if (held == null && upstream != null && !responseComplete) {
        readUpstream(channel.isWritable());
      }
      channel.flush();
    }
  }

  private void startResponseBodyCheck(HeldResponse h) {
    Http1Headers headers = h.head().headers();
    long seq = exchangeSeq;
    externalCheck = h.awaited().check().start(new io.keelson.dataplane.filter.CheckedBody(channel.eventLoop(),
        context.pool().calls(), snapshot, fieldsOf(headers), h.bodyBytes()),
        outcome -> onHeldResponseCheck(seq, outcome));
  }

  /** A held response's body grew over its body check's limit: a 500, as Envoy answers a response over its buffer. */
  private void heldResponseTooLarge() {
    replaceHeldResponse(held, io.keelson.dataplane.filter.CheckOutcome.deny(500, "", null, ResponseFlag.NONE));
  }

  /** The check's local reply instead of the held response (the upstream connection, its response unread, closes). */
  private void replaceHeldResponse(HeldResponse h, io.keelson.dataplane.filter.CheckOutcome outcome) {
    held = null;
    externalCheck.cancel();
    externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
    h.release();
    cancelTimeout();
    UpstreamHandler up = upstream;
    upstream = null;
    endUpstreamRequest();
    if (up != null) {
      up.detach(false);
    }
    sendCheckReply(outcome);
  }

  /**
   * Holds the final response head (and what follows it, {@link HeldResponse}) with the upstream's reads paused while
   * {@code check} runs, as Envoy's encoder filters stop on encodeHeaders; {@link #onResponseCheck} goes on.
   */
  private void holdResponse(Http1Response response, io.keelson.dataplane.filter.ResponseCheck check) {
    held = new HeldResponse(response);
    upstream.channel().config().setAutoRead(false);
    Http1Headers headers = response.headers();
    boolean bodyless = request.method().equals("HEAD") || response.status() == 204 || response.status() == 304
        || (!response.chunked() && response.contentLength() == 0);
    long seq = exchangeSeq;
    externalCheck = check.start(new io.keelson.dataplane.filter.CheckedResponse(channel.eventLoop(),
        context.pool().calls(), snapshot, response.status(), fieldsOf(headers), bodyless),
        outcome -> onHeldResponseCheck(seq, outcome));
  }

  /**
   * A check of the held response answered (its head's, or its whole body's once {@link HeldResponse#awaited} has it
   * set): the response goes on with the header (and body) changes, or the check's local reply replaces it (the
   * upstream connection, its response unread, is closed).
   */
  private void onHeldResponseCheck(long seq, io.keelson.dataplane.filter.CheckOutcome outcome) {
    HeldResponse h = held;
    if (seq != exchangeSeq || h == null) {
      return; // a stale answer (normally cancelled first)
    }
    held = null;
    externalCheck = io.keelson.dataplane.http2.UpstreamCalls.Call.ENDED;
    if (!outcome.allowed()) {
      replaceHeldResponse(h, outcome);
      return;
    }
    HeaderRewriter.apply(h.head().headers(), outcome.upstreamHeaders());
    if (outcome.phases() != null) {
      outcome.phases().apply(policy); // a response-headers answer's mode_override: the response body's and trailers'
    }
    if (h.awaited().check() == null) {
      continueResponse(h.head(), h);
      return;
    }
    if (outcome.replacementBody() != null) {
      h.replaceBody(outcome.replacementBody());
    }
    relayHeld(h.head(), h);
  }


  /** The final response head to the client (after any response check). */
  private void relayResponseHead(Http1Response response) {
    int status = response.status();
    ForwardingHeaders.serviceTime(response.headers(), listener.config().http(), requestCompleteNanos);
    observer.responseHead(listener, response.headers());
    responseStarted = true; // the route timeout keeps running: Envoy's covers the whole response
    cluster.stats().recordResponse(status);
    listener.stats().recordResponse(status);
    ForwardingHeaders.prepareResponse(response, listener.config().http(), virtualHost, route, weightedCluster);
    peerExchange.onResponse(Http1HeaderAccess.INSTANCE, response.headers());
    PolicyVerdicts.addResponseHeaders(response.headers(), policy.responseHeaders());
    PolicyVerdicts.setResponseHeaders(response.headers(), policy.responseHeadersToSet());
    if (virtualHost != null && virtualHost.includeAttemptCountInResponse()) {
      response.headers().set(io.keelson.dataplane.resilience.RetryHeaders.ATTEMPT_COUNT, Integer.toString(retry.retriesDone() + 1));
    }
    boolean bodyless = request.method().equals("HEAD") || status == 204 || status == 304;
    if (!bodyless && response.contentLength() != 0) { // a body to come: the codings filters chose may transform it
      responseBody = io.keelson.dataplane.filter.CodedBody.start(policy, Http1HeaderAccess.INSTANCE, response.headers(), status);
      streamResponseBody(response);
    }
    if (!bodyless) {
      if (response.chunked()) {
        response.headers().add("transfer-encoding", "chunked");
        responseChunked = true;
      } else if (response.contentLength() < 0 || responseBody != null || responseStream != null) {
        // Read-until-close upstream, or a body whose length the coding changes (content-length dropped): re-frame as
        // chunked for HTTP/1.1 clients, close for 1.0.
        if ((request.version() == Http1Version.HTTP_1_1)) {
          response.headers().add("transfer-encoding", "chunked");
          responseChunked = true;
        } else {
          closeAfterResponse = true;
        }
      }
    }
    if (closeAfterResponse || context.draining()) {
      closeAfterResponse = true;
      response.headers().set("connection", "close");
    } else if (!(request.version() == Http1Version.HTTP_1_1)) {
      response.headers().set("connection", "keep-alive");
    }
    long bodyRoom = !responseChunked && responseBody == null && responseStream == null && response.contentLength() > 0
        && response.contentLength() <= COALESCE_BODY_BYTES
        ? response.contentLength()
        : 0;
    ByteBuf head = channel.alloc().ioBuffer(256 + response.headers().size() * 32 + (int) bodyRoom);
    response.encodeTo(head);
    if (bodyRoom > 0 && head.writableBytes() >= bodyRoom) {
      pendingHead = head; // the body follows, usually in the same read
    } else {
      channel.write(head, channel.voidPromise());
    }
  }

  /**
   * ext_proc STREAMED response body: its chunks go through the processor before the client gets them (its size may
   * change: content-length dropped, chunked), the response's end after the last one's answer.
   */
  private void streamResponseBody(Http1Response response) {
    io.keelson.dataplane.filter.StreamedBodyCheck check = policy.takeResponseBodyStream();
    if (check == null) {
      return;
    }
    response.headers().remove("content-length");
    responseStream = check.start(channel.eventLoop(), context.pool().calls(), snapshot, new StreamedSink(true));
  }

  /**
   * The upstream accepted the upgrade (101) or the proxied CONNECT (2xx): record the exchange now, then relay raw bytes
   * until either side closes.
   */
  private void switchToTunnel(Http1Response response) {
    responseStarted = true;
    responseComplete = true; // the HTTP exchange is over; what follows is the tunnel
    closeAfterResponse = true;
    cancelTimeout();
    cluster.stats().recordResponse(responseStatus);
    listener.stats().recordResponse(responseStatus);
    if (io.keelson.dataplane.http2.Http1OverHttp2.isTunnelStream(upstream.channel())) {
      endRetries(); // a stream of an HTTP/2 cluster: its max_requests slot is held until the tunnel ends (channelInactive)
    } else {
      endResilience(); // logged when the tunnel ends, with its bytes both ways (channelInactive), as Envoy logs a stream
    }
    tunnel = true; // the stream idle timeout keeps running: bytes either way reset it (Envoy's stream_idle_timeout)
    listener.stats().cxUpgradesTotal.increment();
    listener.stats().cxUpgradesActive.increment();
    // The response header rules of any response (Envoy's router finalizes a 101's headers too), the upgrade kept.
    String switchedTo = response.headers().get("upgrade");
    io.keelson.dataplane.stats.PeerExchange.strip(Http1HeaderAccess.INSTANCE, response.headers()); // an in-mesh upstream's, never the client's
    ForwardingHeaders.prepareResponse(response, listener.config().http(), virtualHost, route, weightedCluster);
    PolicyVerdicts.addResponseHeaders(response.headers(), policy.responseHeaders());
    PolicyVerdicts.setResponseHeaders(response.headers(), policy.responseHeadersToSet());
    if (upgrade != null) {
      UpgradeTunnel.restoreUpgradeHeaders(response.headers(), switchedTo != null ? switchedTo : upgrade);
    }
    UpgradeTunnel.switchProtocols(channel, response, upstream.channel(), upstream.parser(), parser);
  }

  private void writePendingHead() {
    ByteBuf head = pendingHead;
    if (head != null) {
      pendingHead = null;
      channel.write(head, channel.voidPromise());
    }
  }

  void onResponseBody(ByteBuf content) {
    if (discarding) {
      content.release();
      dropRetriedResponse();
      return;
    }
    if (held != null) {
      held.body(content);
      if (held.awaited().overLimit()) {
        heldResponseTooLarge();
      }
      return;
    }
    if (responseStream != null) {
      responseStream.offer(content, false, false);
      return;
    }
    writeResponseBody(content);
  }

  /** A response body chunk after any STREAMED processor: through the codings, then to the client. */
  private void writeResponseBody(ByteBuf content) {
    if (responseBody != null) {
      content = codeResponseBody(content, false);
      if (content == null) {
        return;
      }
    }
    responseBytes += content.readableBytes(); // what the client gets (gzipped, when a coding transforms the body)
    ByteBuf head = pendingHead;
    if (head != null) {
      if (head.writableBytes() >= content.readableBytes()) {
        head.writeBytes(content);
        content.release();
        return;
      }
      writePendingHead();
    }
    if (responseChunked) {
      Http1Wire.writeChunk(channel, content);
    } else {
      channel.write(content, channel.voidPromise());
    }
    if (!channel.isWritable()) {
      upstream.channel().config().setAutoRead(false);
    }
  }

  void onResponseComplete(Http1Headers trailers) {
    if (discarding) {
      discarding = false;
      UpstreamHandler up = upstream;
      upstream = null;
      endUpstreamRequest();
      up.detach(requestSent() && up.reusable());
      scheduleRetry();
      return;
    }
    if (held != null) {
      held.complete(trailers);
      if (held.awaited().check() != null) {
        startResponseBodyCheck(held);
      }
      return;
    }
    if (responseStream != null) { // the end goes on after the last chunk's answer
      streamedResponseTrailers = trailers == null ? null : new Http1Headers(trailers.size());
      if (trailers != null) {
        streamedResponseTrailers.copyFrom(trailers);
      }
      responseStream.offer(Unpooled.EMPTY_BUFFER, true, trailers != null && trailers.size() > 0);
      return;
    }
    if (holdForTrailers(trailers, true, this::onResponseComplete)) {
      return;
    }
    writePendingHead();
    if (trailers != null) {
      peerExchange.onTrailers(Http1HeaderAccess.INSTANCE, trailers);
      observer.responseTrailers(listener, trailers);
    }
    if (responseBody != null) {
      ByteBuf tail = codeResponseBody(Unpooled.EMPTY_BUFFER, true);
      if (tail == null) {
        return;
      }
      responseBody = null; // released by its last chunk
      responseBytes += tail.readableBytes();
      if (!tail.isReadable()) {
        tail.release();
      } else if (responseChunked) {
        Http1Wire.writeChunk(channel, tail);
      } else {
        channel.write(tail, channel.voidPromise());
      }
    }
    if (responseChunked) {
      Http1Wire.writeLastChunk(channel, trailers);
    }
    recordExchange(); // before the flush: whoever sees the response sees it counted
    channel.flush(); // the upstream's read-complete flush no longer reaches this exchange once detached
    cancelTimeout();
    endUpstreamRequest();
    UpstreamHandler up = upstream;
    upstream = null;
    if (up != null) { // null when it closed while the response was held for a response check
      up.detach(requestSent() && up.reusable());
    }
    if (requestEndHeld()) { // that connection closed without the end: the check has nothing left to end
      requestEnd.release();
      requestEnd = null;
    }
    responseComplete = true;
    if (requestComplete) {
      finishExchange();
    } else {
      // The upstream answered before the request body ended (e.g. an early 413): stop here.
      closeAfterResponse = true;
      channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }
  }

  /**
   * One body chunk through the response's codings; null (the connection closing) when they refuse it: a corrupt gzip
   * body or a decompression bomb cuts the response as an upstream protocol error would. An empty result is released.
   */
  private ByteBuf codeResponseBody(ByteBuf content, boolean last) {
    ByteBuf out;
    try {
      out = responseBody.apply(content, last, channel.alloc());
    } catch (io.keelson.dataplane.filter.BodyStage.BodyCodingException e) {
      responseBody = null; // released by apply
      flag = ResponseFlag.UPE;
      channel.close();
      return null;
    }
    if (!out.isReadable() && !last) {
      out.release();
      return null;
    }
    return out;
  }

  private void releaseResponseBody() {
    if (responseBody != null) {
      responseBody.release();
      responseBody = null;
    }
  }

  void flushDownstream() {
    timers.streamActivity(); // an upstream read: the response is making progress
    if (discarding || held != null) {
      return;
    }
    writePendingHead();
    channel.flush();
  }

  void onUpstreamWritabilityChanged(boolean writable) {
    if (writable) {
      resumeReading();
    }
  }

  /**
   * The upstream connection closed mid-exchange.
   *
   * @param resetCode the RST_STREAM error code when the upstream was an HTTP/2 stream it reset, else -1
   */
  void onUpstreamReset(long resetCode) {
    upstream = null;
    if ((held != null && held.complete()) || (responseEnd != null && responseEnd.holding())) {
      return; // the whole response is held: the upstream's close after it changes nothing
    }
    dropHeldResponse();
    boolean streamReset = resetCode >= 0;
    if (state != State.FORWARDING) {
      return;
    }
    if (discarding) {
      discarding = false; // the retried response was cut short: retry all the same
      endUpstreamRequest();
      scheduleRetry();
      return;
    }
    if (responseStarted) {
      endUpstreamRequest();
      if (!tunnel) { // a tunnel ends with its connections: not a cut response
        flag = streamReset ? ResponseFlag.UR : ResponseFlag.UC;
      }
      channel.close();
      return;
    }
    if (!streamReset && upstreamReused && !requestBodySent && !retried && requestComplete) {
      // A pooled connection the upstream had just closed: safe to send the same head once more.
      retried = true;
      upstreamReused = false;
      connectNew(context.pool(), context.pool().endpoint(balancer.endpoint(endpoint), cluster));
      return;
    }
    cluster.stats().rqResetBeforeResponse.increment();
    reportLocalFailure();
    endUpstreamRequest();
    boolean refused = resetCode == io.netty.handler.codec.http2.Http2Error.REFUSED_STREAM.code();
    if (retry.enabled() && (refused ? retry.retriableRefusedStream() : retry.retriableReset()) && maybeRetry()) {
      return;
    }
    cancelTimeout();
    // As Envoy (and the HTTP/2 downstream path): a stream the upstream reset (RST_STREAM) is UR, a connection
    // that went away is UC.
    flag = retryExhausted ? ResponseFlag.URX : streamReset ? ResponseFlag.UR : ResponseFlag.UC;
    sendRouterReply(503, refused ? LocalReply.REFUSED_STREAM_RESET : streamReset ? LocalReply.REMOTE_RESET
        : LocalReply.RESET_BEFORE_HEADERS, null);
  }

  void onUpstreamProtocolError(Http1ParseException e) {
    upstream = null;
    dropHeldResponse();
    endUpstreamRequest();
    cancelTimeout();
    flag = ResponseFlag.UPE;
    if (responseStarted) {
      channel.close();
    } else {
      sendRouterReply(502, LocalReply.PROTOCOL_ERROR, null);
    }
  }

  // ======================================================================== timeouts

  private void startTimeout() {
    if (!timers.routeArmed() && forwarding != null && !forwarding.timeout().isZero()) {
      timers.startRoute(forwarding.timeout().toNanos());
    }
  }

  private void cancelTimeout() {
    timers.cancelRoute();
  }

  @Override
  public void onIdleTimeout() {
    if (state == State.IDLE) {
      channel.close(); // no exchange in progress (Envoy's idle_timeout: no active stream)
    }
  }

  @Override
  public void onRouteTimeout() {
    if (state != State.FORWARDING && state != State.CONNECTING && !(state == State.ROUTING && retrying)) {
      return;
    }
    retrying = false;
    discarding = false;
    cluster.stats().rqTimeout.increment();
    if (upstream != null) {
      UpstreamHandler up = upstream;
      upstream = null;
      up.detach(false);
    }
    endUpstreamRequest();
    flag = ResponseFlag.UT;
    if (responseStarted) {
      channel.close();
    } else {
      sendRouterReply(504, LocalReply.UPSTREAM_TIMEOUT, null);
    }
  }

  /** Envoy's stream_idle_timeout: 408 before the response head, else a reset; the connection closes either way. */
  @Override
  public void onStreamIdleTimeout() {
    if (tunnel && state != State.CLOSED) { // no byte either way for stream_idle_timeout: end the tunnel, both sides
      listener.stats().rqIdleTimeout.increment();
      channel.close();
      return;
    }
    if (state == State.IDLE || state == State.CLOSED || state == State.LOCAL_REPLY || responseComplete) {
      return;
    }
    if (listener != null) {
      listener.stats().rqIdleTimeout.increment();
    }
    retrying = false;
    discarding = false;
    cancelTimeout();
    if (upstream != null) {
      UpstreamHandler up = upstream;
      upstream = null;
      up.detach(false);
    }
    endUpstreamRequest();
    flag = ResponseFlag.SI;
    closeAfterResponse = true;
    if (responseStarted) {
      channel.close();
    } else {
      sendLocalReply(408, LocalReply.STREAM_TIMEOUT, null);
    }
  }

  // ======================================================================== ending an exchange

  private void sendLocalReply(int status, String body, String extraHeaders) {
    sendLocalReply(status, body.getBytes(java.nio.charset.StandardCharsets.UTF_8), extraHeaders, null);
  }

  /**
   * A local reply of the router once a route was chosen (no healthy upstream, overflow, connect failure, reset,
   * timeout, cluster not found): the route's, virtual host's and route configuration's response header mutations
   * apply to it, as Envoy's router passes finalizeResponseHeaders to sendLocalReply.
   */
  private void sendRouterReply(int status, String body, String extraHeaders) {
    Http1Headers headers = route == null || listener == null ? null
        : ForwardingHeaders.routeReplyHeaders(listener.config().http(), virtualHost, route, null);
    sendLocalReply(status, body.getBytes(java.nio.charset.StandardCharsets.UTF_8), extraHeaders, headers);
  }

  /**
   * @param body         the exact body bytes
   * @param extraHeaders the filters' header lines ({@code name: value\r\n} each), or null
   * @param headers      a route reply's own fields (see {@link LocalReply#encode}), or null
   */
  private void sendLocalReply(int status, byte[] body, String extraHeaders, Http1Headers headers) {
    cancelExternalCheck(); // a stream-idle timeout or another local reply while the check runs
    String contentType = "text/plain";
    boolean rewritten = false;
    var renderer = listener == null ? null : context.localReplies(listener.config().http());
    if (renderer != null) { // local_reply_config: status, body, headers and body format, before the gRPC-Web form
      var reply = renderer.render(status, body, flag, request, request == null ? null : request.uri(),
          request == null ? "HTTP/1.1" : request.version().toString());
      rewritten = reply.status != status;
      status = reply.status;
      body = reply.body;
      contentType = reply.contentType;
      if (reply.replacesContentType) { // as Envoy: the new body's type, not the route's or a filter's
        extraHeaders = PolicyVerdicts.withoutContentType(extraHeaders);
        if (headers != null) {
          headers.remove("content-type");
        }
      }
      extraHeaders = PolicyVerdicts.withLocalReplyHeaders(extraHeaders, reply);
      if (headers != null) { // the route's own fields of an overwritten name go too
        for (String name : reply.overwrites) {
          headers.remove(name);
        }
      }
    }
    int grpcWeb = policy.grpcWeb();
    if (grpcWeb != 0) { // a gRPC-Web call: the trailers-only form, as Envoy's grpc_web filter relabels a gRPC local reply
      // as Envoy, a mapper's new status decides grpc-status (httpToGrpcStatus); the proxy's own reasons otherwise
      int code = io.keelson.dataplane.http2.GrpcReplies.forLocalReply(status, flag, rewritten);
      String lines = io.keelson.dataplane.filter.grpcweb.GrpcWebLocalReplies.headerLines(grpcWeb, code, body);
      // the trailers-only form carries its own content-type and grpc-*: a filter's copies (ext_authz's) are dropped
      extraHeaders = extraHeaders == null ? lines : lines + java.util.Objects.requireNonNullElse(
          PolicyVerdicts.withoutGrpcReplyFields(extraHeaders), "");
      if (headers != null) {
        for (int i = headers.size() - 1; i >= 0; i--) {
          if (PolicyVerdicts.grpcReplyField(headers.name(i))) {
            headers.removeAt(i);
          }
        }
      }
      observer.localGrpcStatus(code);
      status = 200;
      body = new byte[0];
    }
    if (endpointTried && virtualHost != null && virtualHost.includeAttemptCountInResponse()) { // as Envoy, once a try was made
      extraHeaders = (extraHeaders == null ? "" : extraHeaders) + io.keelson.dataplane.resilience.RetryHeaders.ATTEMPT_COUNT
          + ": " + (retry.retriesDone() + 1) + "\r\n";
    }
    state = State.LOCAL_REPLY;
    releasePendingBody();
    if (requestHasBody && !requestComplete) {
      closeAfterResponse = true; // the unread body would otherwise be taken for the next request
    }
    responseStarted = true;
    responseComplete = true;
    responseStatus = status;
    responseBytes = body.length;
    if (listener != null) {
      listener.stats().recordResponse(status);
    }
    recordExchange();
    ChannelFuture written =
        channel.writeAndFlush(LocalReply.encode(channel.alloc(), status, body, closeAfterResponse, extraHeaders, headers,
            contentType));
    if (closeAfterResponse) {
      written.addListener(ChannelFutureListener.CLOSE);
      state = State.CLOSED;
    } else if (requestComplete) {
      finishExchange();
    }
  }

  private void finishExchange() {
    requestStreamPaused = false; // a body that paused and then ended (or was cancelled) no longer holds reading
    responseStreamPaused = false;
    cancelTimeout();
    timers.endStream();
    pendingTrailers = null;
    request = null;
    route = null;
    forwarding = null;
    cluster = null;
    balancer = null;
    if (closeAfterResponse || context.draining()) {
      state = State.CLOSED;
      channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
      return;
    }
    state = State.IDLE;
    timers.touch(); // the idle time counts from the end of the exchange
    resumeReading();
    parser.resume();
  }

  /** Records the exchange once, when its response has ended or the connection was cut. */
  private void recordExchange() {
    cancelBodyStreams();
    endResilience();
    if (recorded || request == null) {
      return;
    }
    recorded = true;
    PolicyVerdicts.end(policy);
    long duration = System.nanoTime() - startNanos;
    IstioDestination d = cluster != null ? cluster.stats().istio : listener != null ? listener.stats().istioUnknown : null;
    if (d != null) {
      peerExchange.record(d, responseStatus, flag, duration, requestBytes, responseBytes);
    }
    observer.healthCheck(policy.healthCheck());
    observer.end(listener, request, request.uri(), request.version().toString(), duration, responseStatus, flag,
        requestBytes, responseBytes, cluster != null ? cluster.name() : null,
        endpointTried && balancer != null ? balancer.endpoint(endpoint) : null, downstream.remoteAddressForLog(remoteAddress),
        localAddress, route != null ? route.name() : null, channel);
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
    releasePendingAdmission();
    if (endpointAccounted) {
      endpointAccounted = false;
      balancer.onRequestEnd(endpoint);
      cluster.stats().rqActive.decrement();
    }
  }

  // ======================================================================== retries and breakers

  /** True when nothing of the response went downstream and the body sent so far can be sent again. */
  private boolean canRetry() {
    return !responseStarted && replay.replayable() && state != State.CLOSED;
  }

  /**
   * A retried response has a body: as Envoy's router resets the upstream request when the response did not
   * end with its headers, the connection is closed (an HTTP/2 cluster's stream reset) rather than the body
   * read, and the retry goes now, not after a body that may be large or slow.
   */
  private void dropRetriedResponse() {
    discarding = false;
    UpstreamHandler up = upstream;
    upstream = null;
    endUpstreamRequest();
    if (up != null) {
      up.detach(false);
    }
    scheduleRetry();
  }

  /** After a retriable failure with no response: retries when allowed; false when the caller answers. */
  private boolean maybeRetry() {
    if (!canRetry()) {
      return false;
    }
    RetryState.Decision d = retry.tryRetry();
    if (d == RetryState.Decision.RETRY) {
      scheduleRetry();
      return true;
    }
    retryExhausted = d == RetryState.Decision.LIMIT_EXCEEDED;
    return false;
  }

  /** Waits the backoff, then routes the retry (same cluster, a new host pick). */
  private void scheduleRetry() {
    state = State.ROUTING;
    retrying = true;
    long delay = retry.backoffNanos();
    if (delay <= 0) {
      publishRetry();
    } else {
      channel.eventLoop().schedule(retryTask, delay, java.util.concurrent.TimeUnit.NANOSECONDS);
    }
  }

  private void publishRetry() {
    if (state != State.ROUTING || !retrying) {
      return; // the exchange ended during the backoff
    }
    if (!publishAgain()) {
      retrying = false;
      cancelTimeout();
      flag = ResponseFlag.LR;
      sendLocalReply(503, LocalReply.OVERLOADED, null);
    }
  }

  private void onPerTryTimeout() {
    perTryTimer = null;
    if ((state != State.FORWARDING && state != State.CONNECTING) || responseStarted || discarding) {
      return;
    }
    cluster.stats().rqPerTryTimeout.increment();
    if (upstream != null) {
      UpstreamHandler up = upstream;
      upstream = null;
      up.detach(false);
    }
    connecting = null; // its connect completes into onConnected, which closes it
    reportLocalFailure();
    endUpstreamRequest();
    if (retry.enabled() && retry.retriableReset() && maybeRetry()) {
      return;
    }
    cluster.stats().rqTimeout.increment();
    cancelTimeout();
    flag = retryExhausted ? ResponseFlag.URX : ResponseFlag.UT;
    sendRouterReply(504, LocalReply.UPSTREAM_TIMEOUT, null);
  }

  private void cancelPerTryTimer() {
    if (perTryTimer != null) {
      perTryTimer.cancel(false);
      perTryTimer = null;
    }
  }

  /** Outlier detection: the current try failed without a response. */
  private void reportLocalFailure() {
    OutlierDetector detector = cluster.resilience().detector();
    if (detector != null && endpointAccounted) {
      detector.onLocalFailure(endpoint);
    }
  }

  private void releasePendingAdmission() {
    connectionWait.cancel();
    if (pendingAdmitted) {
      pendingAdmitted = false;
      breaker.releasePending();
    }
  }

  /** The exchange is over: gives back its breaker slots and replay buffers. Idempotent. */
  private void endResilience() {
    endRetries();
    if (requestAdmitted) {
      requestAdmitted = false;
      breaker.releaseRequest();
    }
  }

  private void endRetries() {
    retrying = false;
    discarding = false;
    retry.end();
    replay.release();
    releasePendingAdmission();
  }

  private void releasePendingBody() {
    ByteBuf b;
    while ((b = pendingBody.pollFirst()) != null) {
      b.release();
    }
    pendingBodyBytes = 0;
  }
}
