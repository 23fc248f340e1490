package io.keelson.dataplane.filter;

import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.stats.ResponseFlag;

/**
 * A request as filters see it, and their verdict: continue, a local reply, and/or a delay before
 * acting. Pre-allocated and reused: one in each routing event (written by the policy stage) and one
 * per downstream connection (a copy the connection acts on). Not thread-safe: one owner at a time.
 */
public final class FilterContext {
  // ---- inputs
  /** The request head; read-only. */
  public RequestHead head;
  /** The matched route, or null. */
  public RouteEntry route;
  /** The matched virtual host, or null. */
  public VirtualHostConfig virtualHost;
  /** The downstream address (the peer's IP, or a trusted x-forwarded-for entry), or null (for RBAC remote_ip). */
  public String remoteIp;
  /** {@link #remoteIp} came from x-forwarded-for: it is not the peer's. */
  public boolean remoteIpFromXff;
  /** The verified client certificate's SPIFFE URI SAN (mesh mTLS), or null (for RBAC principals). */
  public String peerPrincipal;
  /** The downstream connection's peer and local addresses, or null (for RBAC source/destination rules). */
  public java.net.InetSocketAddress remoteAddress;
  public java.net.InetSocketAddress localAddress;
  /** The socket's own peer (RBAC direct_remote_ip), whatever a PROXY protocol header restored into remoteAddress. */
  public java.net.InetSocketAddress peerAddress;
  /** The cluster the request is routed to (the weighted pick), or null (for rate limit destination_cluster). */
  public String upstreamCluster;
  /** Dynamic metadata earlier filters set for this request (a verified JWT), or null; read by RBAC. */
  public DynamicMetadata metadata;

  // ---- verdict
  private int status;
  private String body;
  private String replyHeaders;
  private long delayNanos;
  private ResponseFlag flag = ResponseFlag.NONE;
  private String responseHeaders;
  private String responseHeadersToSet;
  private final Slot<ExchangeEndHook> endHook = new Slot<>();
  private io.keelson.dataplane.config.HeaderMutations requestHeaders;
  private int grpcWeb;
  /** envoy.filters.http.grpc_json_transcoder mapped the request to a gRPC method, or null. */
  private io.keelson.dataplane.filter.grpcjson.TranscodedCall transcoded;
  /** envoy.filters.http.buffer's max_request_bytes: the whole body is read before forwarding; 0 when not buffered. */
  private long bufferLimit;
  /** The body codings filters chose for the response (compressor, decompressor), in filter order; {@link #codings} used. */
  private final ResponseCoding[] responseCodings = new ResponseCoding[MAX_RESPONSE_CODINGS];
  private int codings;
  /** The body codings filters chose for the request, in filter order; {@link #requestCodingCount} used. */
  private final RequestCoding[] requestCodings = new RequestCoding[MAX_RESPONSE_CODINGS];
  private int requestCodingCount;
  private ExternalCheck externalCheck;
  /** envoy.filters.http.health_check recognised the request as a health check (access logs' not_health_check_filter). */
  private boolean healthCheck;
  private final Slot<ResponseCheck> responseCheck = new Slot<>();
  private final Slot<BodyCheck> requestBodyCheck = new Slot<>();
  private final Slot<BodyCheck> responseBodyCheck = new Slot<>();
  private final Slot<StreamedBodyCheck> requestBodyStream = new Slot<>();
  private final Slot<StreamedBodyCheck> responseBodyStream = new Slot<>();
  private final Slot<TrailersCheck> requestTrailersCheck = new Slot<>();
  private final Slot<TrailersCheck> responseTrailersCheck = new Slot<>();
  /** The filters after the external check, with their inputs, or empty. */
  private final Slot<PausedChain> paused = new Slot<>();
  /** A filter asked for the route to be chosen again ({@link #clearRouteCache}); the chain does it after that filter. */
  private boolean routeCacheCleared;
  /** The chain chose the route again and it changed: the new route, virtual host and weighted cluster (may be null). */
  private boolean rerouted;
  private RouteEntry reroutedRoute;
  private VirtualHostConfig reroutedHost;
  private io.keelson.dataplane.config.RouteAction.WeightedCluster reroutedCluster;
  /** envoy.filters.http.stateful_session: its config and the host the request names (encoded, maybe malformed), or null. */
  private io.keelson.dataplane.filter.statefulsession.StatefulSession session;
  private String sessionHost;
  /** The session state the response tells the client (the host that serves it, encoded), or null for none. */
  private String sessionHostWritten;
  private String sessionLine;

  /** Answers the request locally; the rest of the chain does not run. */
  public void localReply(int status, String body, String extraHeaders, ResponseFlag flag) {
    this.status = status;
    this.body = body;
    this.replyHeaders = extraHeaders;
    this.flag = flag;
  }

  /** Holds the request for {@code nanos} before it goes on (or before a later filter's local reply is sent). */
  public void delay(long nanos, ResponseFlag flag) {
    delayNanos += nanos;
    if (this.flag == ResponseFlag.NONE) {
      this.flag = flag;
    }
  }

  /** Adds header lines ({@code name: value\r\n} each) to the response, whether proxied or local. */
  public void addResponseHeaders(String lines) {
    responseHeaders = responseHeaders == null ? lines : responseHeaders + lines;
  }

  /**
   * Sets header lines ({@code name: value\r\n} each) on a proxied response, replacing the upstream's of the same
   * names (Envoy's set, as the CORS filter does); a local reply gets them too.
   */
  public void setResponseHeaders(String lines) {
    responseHeadersToSet = responseHeadersToSet == null ? lines : responseHeadersToSet + lines;
  }

  /**
   * Asks the connection to make {@code check} (ext_authz, the rate limit service) before it acts on the verdict. The
   * chain stops after the filter that asks (as Envoy's stops at ext_authz): the filters after it run once the check
   * allowed the request, on the request with the check's headers ({@link FilterChain#resume}), and a later filter may
   * ask for its own check then. Null clears it.
   */
  public void checkExternally(ExternalCheck check) {
    externalCheck = check;
  }

  /**
   * Asks the connection to make {@code check} of the final response head before the client sees it (ext_proc's
   * response headers); null clears it.
   */
  public void checkResponse(ResponseCheck check) {
    responseCheck.set(check);
  }

  /**
   * Asks the connection to make {@code check} of the whole request body before forwarding it (ext_proc's BUFFERED
   * request body); the filter also asks for the body to be buffered ({@link #bufferBody}). Null clears it.
   */
  public void checkRequestBody(BodyCheck check) {
    requestBodyCheck.set(check);
  }

  /**
   * Asks the connection to make {@code check} of the whole response body (ext_proc's BUFFERED response body) before
   * the client sees the response, after any {@link #checkResponse}; null clears it.
   */
  public void checkResponseBody(BodyCheck check) {
    responseBodyCheck.set(check);
  }

  /**
   * Asks the connection to stream the request body through {@code check} chunk by chunk (ext_proc STREAMED,
   * bandwidth_limit); null clears it. One filter at a time: a second {@code check} while another is set is refused
   * (false) and the exchange fails closed ({@link StreamedBodyConflict}), as neither filter may be skipped silently.
   */
  public boolean streamRequestBody(StreamedBodyCheck check) {
    return setStream(requestBodyStream, check);
  }

  /** Asks the connection to stream the response body through {@code check}, as {@link #streamRequestBody}. */
  public boolean streamResponseBody(StreamedBodyCheck check) {
    return setStream(responseBodyStream, check);
  }

  private static boolean setStream(Slot<StreamedBodyCheck> slot, StreamedBodyCheck check) {
    StreamedBodyCheck held = slot.peek();
    if (check != null && held != null && held != check) {
      slot.set(StreamedBodyConflict.INSTANCE);
      return false;
    }
    if (held != StreamedBodyConflict.INSTANCE) {
      slot.set(check);
    }
    return true;
  }

  /** Asks the connection to make {@code check} of the request's trailers before they go on (ext_proc SEND). */
  public void checkRequestTrailers(TrailersCheck check) {
    requestTrailersCheck.set(check);
  }

  /** Asks the connection to make {@code check} of the response's trailers before they go on (ext_proc SEND). */
  public void checkResponseTrailers(TrailersCheck check) {
    responseTrailersCheck.set(check);
  }

  /**
   * Withdraws {@code check} (the same object a filter set) from whichever of the phase checks above still holds it; a
   * check another filter set since, or one the connection took, stays. A filter turning its own phase off (ext_proc's
   * mode_override) uses this instead of setting null, which would clear another filter's.
   */
  public void withdraw(Object check) {
    responseCheck.clearIf(check);
    requestBodyCheck.clearIf(check);
    responseBodyCheck.clearIf(check);
    requestBodyStream.clearIf(check);
    responseBodyStream.clearIf(check);
    requestTrailersCheck.clearIf(check);
    responseTrailersCheck.clearIf(check);
  }

  /** Whether a filter checks the request's trailers (ext_proc SEND) and has not had them yet. */
  public boolean checksRequestTrailers() {
    return requestTrailersCheck.peek() != null;
  }

  /** Takes the request trailers' check (so it runs once per exchange), or null. */
  public TrailersCheck takeRequestTrailersCheck() {
    return requestTrailersCheck.take();
  }

  /** Takes the response trailers' check (so it runs once per exchange), or null. */
  public TrailersCheck takeResponseTrailersCheck() {
    return responseTrailersCheck.take();
  }

  /** Takes the request body's stream check (so it runs once per exchange), or null. */
  public StreamedBodyCheck takeRequestBodyStream() {
    return requestBodyStream.take();
  }

  /** Takes the response body's stream check (so it runs once per exchange), or null. */
  public StreamedBodyCheck takeResponseBodyStream() {
    return responseBodyStream.take();
  }

  /** Takes the response body check (so it runs once per exchange), or null. */
  public BodyCheck takeResponseBodyCheck() {
    return responseBodyCheck.take();
  }

  /** Takes the request body check (so it runs once per exchange), or null. */
  public BodyCheck takeRequestBodyCheck() {
    return requestBodyCheck.take();
  }

  /** Takes the response check (so it runs once per exchange), or null. */
  public ResponseCheck takeResponseCheck() {
    return responseCheck.take();
  }

  void pause(PausedChain p) {
    paused.set(p);
  }

  /** Takes the paused rest of the chain (so it runs once), or null. */
  PausedChain takePaused() {
    return paused.take();
  }

  /** The check the connection must make before acting on this verdict, or null. */
  public ExternalCheck externalCheck() {
    return externalCheck;
  }

  /**
   * Asks for the route to be chosen again after this filter (Envoy's {@code clearRouteCache()}: jwt_authn's
   * {@code clear_route_cache}; ext_authz's is ignored, see SupportedFields): with the headers and dynamic metadata as
   * the filter left them. The filters after it then run with the new route's per-route configs, and the request goes
   * where the new route says. From a filter after an external check (ext_authz, ratelimit) the route cannot be chosen
   * again, so the request is answered 500 (flag NR) instead ({@link FilterChain#resume}).
   */
  public void clearRouteCache() {
    routeCacheCleared = true;
  }

  /** Whether a filter asked for the route to be chosen again since the last call; clears the request. */
  boolean takeRouteCacheCleared() {
    boolean c = routeCacheCleared;
    routeCacheCleared = false;
    return c;
  }

  /** Records that the route chosen again differs from the one the request came in with. */
  void rerouted(RouteEntry route, VirtualHostConfig host, io.keelson.dataplane.config.RouteAction.WeightedCluster cluster) {
    rerouted = true;
    reroutedRoute = route;
    reroutedHost = host;
    reroutedCluster = cluster;
  }

  /** Whether the filters changed the request's route (then {@link #reroutedRoute()} and the others are the new one). */
  public boolean rerouted() {
    return rerouted;
  }

  /** The route chosen again, or null when none matched then (a 404); meaningful when {@link #rerouted()}. */
  public RouteEntry reroutedRoute() {
    return reroutedRoute;
  }

  public VirtualHostConfig reroutedHost() {
    return reroutedHost;
  }

  /** The new route's weighted pick, or null when it does not forward. */
  public io.keelson.dataplane.config.RouteAction.WeightedCluster reroutedCluster() {
    return reroutedCluster;
  }

  /**
   * Asks the balance stage to send the request to the host {@code encodedHost} names when the cluster has it and may use
   * it (envoy.filters.http.stateful_session), and to tell the client through {@code session}'s state when the host
   * changes; {@code encodedHost} is null when the request names none.
   */
  public void stickTo(io.keelson.dataplane.filter.statefulsession.StatefulSession session, String encodedHost) {
    this.session = session;
    this.sessionHost = encodedHost;
  }

  /**
   * Tells the client through the session's state that {@code encoded} serves its session now, as Envoy's filter writes
   * the host of the response: a later try served by another host (a retry) replaces what an earlier one wrote. Nothing
   * when the request has no stateful session, or when the client's session already names {@code encoded}.
   */
  public void sessionServedBy(String encoded) {
    if (session == null || session.state() == null
        || encoded.equals(sessionHostWritten != null ? sessionHostWritten : sessionHost)) {
      return;
    }
    String line = session.state().line(encoded);
    if (session.state().replacesUpstreams()) {
      responseHeadersToSet = withLine(responseHeadersToSet, sessionLine, line);
    } else {
      responseHeaders = withLine(responseHeaders, sessionLine, line);
    }
    sessionLine = line;
    sessionHostWritten = encoded;
  }

  /** {@code lines} with {@code old} (an earlier try's line, or null) replaced by {@code line}. */
  private static String withLine(String lines, String old, String line) {
    if (old != null && lines != null) {
      lines = lines.replace(old, "");
    }
    return lines == null || lines.isEmpty() ? line : lines + line;
  }

  /** The stateful session the request belongs to ({@link #stickTo}), or null. */
  public io.keelson.dataplane.filter.statefulsession.StatefulSession session() {
    return session;
  }

  /** The encoded host the request's session names, or null. */
  public String sessionHost() {
    return sessionHost;
  }

  /** Header changes to make to the forwarded request (after the route's own mutations); replaces earlier ones. */
  public void mutateRequestHeaders(io.keelson.dataplane.config.HeaderMutations mutations) {
    requestHeaders = mutations;
  }

  /**
   * Marks the request as gRPC-Web (the grpc_web filter): {@code mode} is a set of
   * {@link io.keelson.dataplane.filter.grpcweb.GrpcWebFilter} flags the upstream stream's codec acts on.
   */
  public void grpcWeb(int mode) {
    grpcWeb = mode;
  }

  /**
   * Marks the request as transcoded to {@code call}'s gRPC method (the gRPC-JSON transcoder): the upstream stream's
   * {@link io.keelson.dataplane.filter.grpcjson.GrpcJsonUpstreamCodec} rewrites it and its response.
   */
  public void transcode(io.keelson.dataplane.filter.grpcjson.TranscodedCall call) {
    transcoded = call;
  }

  /** The gRPC-JSON transcoder's mapping of this request, or null. */
  public io.keelson.dataplane.filter.grpcjson.TranscodedCall transcoded() {
    return transcoded;
  }

  /**
   * Asks the connection to read the whole request body before it forwards the request, with a content-length, and to
   * answer 413 once the body is over {@code maxBytes} (envoy.filters.http.buffer).
   */
  public void bufferBody(long maxBytes) {
    bufferLimit = maxBytes;
  }

  /** {@link #bufferBody}'s limit, 0 when the body streams through. */
  public long bufferLimit() {
    return bufferLimit;
  }

  /** At most this many coding filters (compressor, decompressor) act on one response; more are refused at translation. */
  public static final int MAX_RESPONSE_CODINGS = 4;

  /**
   * Asks for {@code coding} to decide on the response head whether to transform the response body (the compressor and
   * decompressor filters); the connection applies them in reverse filter order, as Envoy runs encoder filters.
   */
  public void codeResponse(ResponseCoding coding) {
    if (codings < MAX_RESPONSE_CODINGS) {
      responseCodings[codings++] = coding;
    }
  }

  /** Asks for {@code coding} to decide on the forwarded request's head whether to transform the request body. */
  public void codeRequest(RequestCoding coding) {
    if (requestCodingCount < MAX_RESPONSE_CODINGS) {
      requestCodings[requestCodingCount++] = coding;
    }
  }

  /** How many request codings filters chose. */
  public int requestCodings() {
    return requestCodingCount;
  }

  /** The {@code i}th request coding in filter order. */
  public RequestCoding requestCoding(int i) {
    return requestCodings[i];
  }

  /** How many response codings filters chose for this request. */
  public int responseCodings() {
    return codings;
  }

  /** The {@code i}th response coding in filter order. */
  public ResponseCoding responseCoding(int i) {
    return responseCodings[i];
  }

  /** Marks the request as a health check, as Envoy's health check filter marks the stream info. */
  public void markHealthCheck() {
    healthCheck = true;
  }

  /** The request was marked a health check ({@link #markHealthCheck}). */
  public boolean healthCheck() {
    return healthCheck;
  }

  /** The grpc_web filter's flags for this request, 0 when it is not gRPC-Web (or the filter is not configured). */
  public int grpcWeb() {
    return grpcWeb;
  }

  /** The filters' changes to the forwarded request's headers, or null. */
  public io.keelson.dataplane.config.HeaderMutations requestHeaders() {
    return requestHeaders;
  }

  /** Registers the hook to call when this exchange ends (one per exchange; a second replaces the first's chaining). */
  public void onExchangeEnd(ExchangeEndHook hook) {
    ExchangeEndHook previous = endHook.peek();
    endHook.set(previous == null ? hook : () -> {
      previous.onExchangeEnd();
      hook.onExchangeEnd();
    });
  }

  public boolean hasLocalReply() {
    return status != 0;
  }

  public int status() {
    return status;
  }

  public String body() {
    return body;
  }

  /** Extra header lines of the local reply, including {@link #responseHeaders()} and {@link #responseHeadersToSet()}; null for none. */
  public String replyHeaders() {
    String added = responseHeaders == null ? responseHeadersToSet
        : responseHeadersToSet == null ? responseHeaders : responseHeaders + responseHeadersToSet;
    if (added == null) {
      return replyHeaders;
    }
    return replyHeaders == null ? added : replyHeaders + added;
  }

  public long delayNanos() {
    return delayNanos;
  }

  public ResponseFlag flag() {
    return flag;
  }

  /** Header lines to add to a proxied response, or null. */
  public String responseHeaders() {
    return responseHeaders;
  }

  /** Header lines to set on a proxied response (replacing the upstream's of the same names), or null. */
  public String responseHeadersToSet() {
    return responseHeadersToSet;
  }

  /** Takes the end hook (so it runs once); null when none. */
  public ExchangeEndHook takeEndHook() {
    return endHook.take();
  }

  /** Resets the verdict for a new request (inputs are overwritten by the publisher). */
  public void clear() {
    status = 0;
    body = null;
    replyHeaders = null;
    delayNanos = 0;
    flag = ResponseFlag.NONE;
    responseHeaders = null;
    responseHeadersToSet = null;
    endHook.clear();
    requestHeaders = null;
    grpcWeb = 0;
    transcoded = null;
    bufferLimit = 0;
    healthCheck = false;
    java.util.Arrays.fill(responseCodings, 0, codings, null);
    codings = 0;
    java.util.Arrays.fill(requestCodings, 0, requestCodingCount, null);
    requestCodingCount = 0;
    externalCheck = null;
    responseCheck.clear();
    requestBodyCheck.clear();
    responseBodyCheck.clear();
    requestBodyStream.clear();
    responseBodyStream.clear();
    requestTrailersCheck.clear();
    responseTrailersCheck.clear();
    paused.clear();
    metadata = null;
    routeCacheCleared = false;
    rerouted = false;
    reroutedRoute = null;
    reroutedHost = null;
    reroutedCluster = null;
    session = null;
    sessionHost = null;
    sessionHostWritten = null;
    sessionLine = null;
  }

  /** Copies the verdict (not the inputs) of {@code other}, taking its end hook. */
  public void copyVerdict(FilterContext other) {
    status = other.status;
    body = other.body;
    replyHeaders = other.replyHeaders;
    delayNanos = other.delayNanos;
    flag = other.flag;
    responseHeaders = other.responseHeaders;
    responseHeadersToSet = other.responseHeadersToSet;
    endHook.set(other.takeEndHook());
    requestHeaders = other.requestHeaders;
    grpcWeb = other.grpcWeb;
    transcoded = other.transcoded;
    bufferLimit = other.bufferLimit;
    healthCheck = other.healthCheck;
    System.arraycopy(other.responseCodings, 0, responseCodings, 0, other.codings);
    if (codings > other.codings) {
      java.util.Arrays.fill(responseCodings, other.codings, codings, null);
    }
    codings = other.codings;
    System.arraycopy(other.requestCodings, 0, requestCodings, 0, other.requestCodingCount);
    if (requestCodingCount > other.requestCodingCount) {
      java.util.Arrays.fill(requestCodings, other.requestCodingCount, requestCodingCount, null);
    }
    requestCodingCount = other.requestCodingCount;
    externalCheck = other.externalCheck;
    responseCheck.copy(other.responseCheck);
    requestBodyCheck.copy(other.requestBodyCheck);
    responseBodyCheck.copy(other.responseBodyCheck);
    requestBodyStream.copy(other.requestBodyStream);
    responseBodyStream.copy(other.responseBodyStream);
    requestTrailersCheck.copy(other.requestTrailersCheck);
    responseTrailersCheck.copy(other.responseTrailersCheck);
    paused.copy(other.paused);
    session = other.session; // a retry's host may change the session's state (sessionServedBy)
    sessionHost = other.sessionHost;
    sessionHostWritten = other.sessionHostWritten;
    sessionLine = other.sessionLine;
  }

  /** Drops references to request objects. */
  public void clearInputs() {
    head = null;
    route = null;
    virtualHost = null;
    remoteIp = null;
    remoteIpFromXff = false;
    peerPrincipal = null;
    remoteAddress = null;
    localAddress = null;
    peerAddress = null;
    upstreamCluster = null;
    metadata = null;
  }
}
