package io.keelson.dataplane.filter.extauthz;

import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.edge.HopByHopHeaders;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedRequest;
import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.filter.SideCall;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.stats.ResponseFlag;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Envoy's ext_authz http_service check: the request's method, the path prefix plus the request's path and
 * query, and its Host, Authorization and allowed headers (Content-Length 0: no body is sent) go to the
 * authorization cluster as an ordinary upstream request ({@link UpstreamCalls}); a 200 lets the request
 * through with the allowed upstream headers copied onto it, a 5xx is an error like no answer at all (as
 * Envoy's {@code RawHttpClientImpl::toResponse}), any other status answers the client with that status, the
 * server's body and the allowed client headers; an error or no answer in time answers {@code status_on_error}
 * (403), unless failure_mode_allow. Immutable and shared; {@link #start} runs on
 * the connection's event loop.
 */
final class HttpAuthzCheck implements ExternalCheck {
  static final String FAILURE_MODE_HEADER = "x-envoy-auth-failure-mode-allowed";
  /** Always in the check request, as in Envoy (with Host and Content-Length). */
  private static final Set<String> ALWAYS_SENT = Set.of("authorization", ":method", ":path");
  /**
   * Never copied from the request besides its hop-by-hop fields: the check request frames itself. Proxy-Authorization
   * is the exception to those: Envoy's connection manager leaves it on the request, so an allowed_headers match sends
   * it (the credentials a proxy-authenticating server checks).
   */
  private static final Set<String> NOT_COPIED = Set.of("host", "content-length", "expect");
  /** Sent to the client with a denial whenever allowed_client_headers is set, as in Envoy. */
  private static final Set<String> CLIENT_ALWAYS = Set.of("www-authenticate", "location");
  /**
   * Never passed on from the authorization server's answer besides its hop-by-hop fields (Proxy-Authenticate excepted:
   * Envoy passes it with a denial, the challenge of a 407).
   */
  private static final Set<String> NOT_PASSED = Set.of("host", "content-length", "date", "server");

  private final ExtAuthzConfig config;
  private final ExtAuthzStats stats;

  HttpAuthzCheck(ExtAuthzConfig config, ExtAuthzStats stats) {
    this.config = config;
    this.stats = stats;
  }

  @Override
  public UpstreamCalls.Call start(CheckedRequest request, Consumer<CheckOutcome> done) {
    return SideCall.send(request.loop(), request.calls(), request.snapshot(), config.cluster(), config.timeoutNanos(),
        ExtAuthzConfig.MAX_RESPONSE_BODY_BYTES, () -> checkRequest(request), this::answer, () -> failure(config, stats),
        done);
  }

  FullHttpRequest checkRequest(CheckedRequest request) {
    RequestHead head = request.head();
    String target = config.pathPrefix() + head.path() + (head.query() == null ? "" : "?" + head.query());
    FullHttpRequest r = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(head.method()), target,
        Unpooled.EMPTY_BUFFER);
    HttpHeaders h = r.headers();
    String authority = head.authority();
    if (authority != null) {
      h.set("host", authority);
    }
    String connection = connectionOptions(request.headers());
    request.headers().forEach((name, value) -> {
      String lower = name.toLowerCase(Locale.ROOT);
      if (isNotCopied(lower, connection) || ExtAuthzConfig.anyMatch(config.disallowedHeaders(), lower)) {
        return;
      }
      if (ALWAYS_SENT.contains(lower) || ExtAuthzConfig.anyMatch(config.allowedHeaders(), lower)) {
        h.add(lower, value);
      }
    });
    for (HeaderMutations.HeaderValue add : config.headersToAdd()) {
      h.set(add.name(), add.value());
    }
    h.set("content-length", "0");
    return r;
  }

  private static boolean isNotCopied(String lower, String connection) {
    return NOT_COPIED.contains(lower) || HopByHopHeaders.isHopByHop(lower, connection)
        && !lower.equals("proxy-authorization");
  }

  private static boolean isNotPassed(String lower, String connection) {
    return NOT_PASSED.contains(lower) || HopByHopHeaders.isHopByHop(lower, connection)
        && !lower.equals("proxy-authenticate");
  }

  private static String connectionOptions(CheckedRequest.HeaderSource headers) {
    StringBuilder joined = new StringBuilder();
    headers.forEach((name, value) -> {
      if (name.equalsIgnoreCase("connection")) {
        (joined.isEmpty() ? joined : joined.append(',')).append(value);
      }
    });
    return HopByHopHeaders.options(joined.isEmpty() ? null : joined.toString());
  }

  private static String connectionOptions(Iterable<Map.Entry<String, String>> headers) {
    String joined = null;
    for (Map.Entry<String, String> e : headers) {
      if (e.getKey().equalsIgnoreCase("connection")) {
        joined = joined == null ? e.getValue() : joined + "," + e.getValue();
      }
    }
    return HopByHopHeaders.options(joined);
  }

  CheckOutcome answer(UpstreamCalls.Response response) {
    if (response.status() >= 500 && response.status() <= 599) { // the server failed: no verdict, as Envoy
      return failure(config, stats);
    }
    String connection = connectionOptions(response.headers());
    if (response.status() == 200) {
      stats.ok().increment();
      List<HeaderMutations.HeaderValue> changes = null;
      for (Map.Entry<String, String> e : response.headers()) {
        String lower = e.getKey().toLowerCase(Locale.ROOT);
        if (isNotPassed(lower, connection)) {
          continue;
        }
        boolean set = ExtAuthzConfig.anyMatch(config.upstreamHeaders(), lower);
        if (set || ExtAuthzConfig.anyMatch(config.upstreamAppend(), lower)) {
          if (changes == null) {
            changes = new ArrayList<>(4);
          }
          changes.add(new HeaderMutations.HeaderValue(lower, e.getValue(), !set));
        }
      }
      return changes == null ? CheckOutcome.ALLOW : CheckOutcome.allow(new HeaderMutations(changes, List.of()));
    }
    stats.denied().increment();
    StringBuilder lines = new StringBuilder();
    for (Map.Entry<String, String> e : response.headers()) {
      String lower = e.getKey().toLowerCase(Locale.ROOT);
      if (NOT_PASSED.contains(lower)) {
        continue;
      }
      if (config.clientHeaders() == null || CLIENT_ALWAYS.contains(lower)
          || ExtAuthzConfig.anyMatch(config.clientHeaders(), lower)) {
        lines.append(lower).append(": ").append(e.getValue()).append("\r\n");
      }
    }
    return CheckOutcome.deny(response.status(), new String(response.body(), StandardCharsets.UTF_8),
        lines.isEmpty() ? null : lines.toString(), ResponseFlag.UAEX);
  }

  /** A check that got no usable answer: counted, then status_on_error, or through with failure_mode_allow. */
  static CheckOutcome failure(ExtAuthzConfig config, ExtAuthzStats stats) {
    stats.error().increment();
    if (config.failureModeAllow()) {
      stats.failureModeAllowed().increment();
      return config.failureModeHeader() ? CheckOutcome.allow(new HeaderMutations(
          List.of(new HeaderMutations.HeaderValue(FAILURE_MODE_HEADER, "true", false)), List.of())) : CheckOutcome.ALLOW;
    }
    return CheckOutcome.deny(config.statusOnError(), "", null, ResponseFlag.UAEX);
  }
}
