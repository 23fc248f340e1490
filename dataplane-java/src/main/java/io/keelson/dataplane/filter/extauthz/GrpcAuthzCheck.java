package io.keelson.dataplane.filter.extauthz;

import io.envoyproxy.envoy.config.core.v3.HeaderValueOption;
import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import io.envoyproxy.envoy.service.auth.v3.CheckResponse;
import io.keelson.dataplane.config.HeaderMutations;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedRequest;
import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.filter.SideCall;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.route.RequestHead;
import io.keelson.dataplane.stats.ResponseFlag;
import io.netty.handler.codec.http.FullHttpRequest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Envoy's ext_authz grpc_service check: a unary {@code envoy.service.auth.v3.Authorization/Check} call over
 * HTTP/2 to the authorization cluster (which needs http2_protocol_options), sent through the same pooled
 * upstream channels as any request ({@link UpstreamCalls}), with the attributes Envoy fills: source and
 * destination addresses (and the source's verified SPIFFE principal), the request's method, path, host,
 * scheme, query and headers (lower case; repeated fields joined with ','; allowed/disallowed_headers filter
 * them when set). {@code status.code == 0} lets the request through with ok_response's headers set (or
 * appended) and headers_to_remove removed; any other code answers denied_response's status (403 when
 * unset), headers and body. A failed call (transport, gRPC status other than OK, bad answer) is an error:
 * status_on_error, or through with failure_mode_allow. Immutable and shared; {@link #start} runs on the
 * connection's event loop.
 */
final class GrpcAuthzCheck implements ExternalCheck {
  static final String PATH = GrpcCheckCall.PATH;

  private final ExtAuthzConfig config;
  private final ExtAuthzStats stats;

  GrpcAuthzCheck(ExtAuthzConfig config, ExtAuthzStats stats) {
    this.config = config;
    this.stats = stats;
  }

  @Override
  public UpstreamCalls.Call start(CheckedRequest request, Consumer<CheckOutcome> done) {
    return SideCall.send(request.loop(), request.calls(), request.snapshot(), config.cluster(), config.timeoutNanos(),
        ExtAuthzConfig.MAX_RESPONSE_BODY_BYTES, () -> call(request), this::answer,
        () -> HttpAuthzCheck.failure(config, stats), done);
  }

  /** The unary Check call: the length-prefixed CheckRequest over gRPC. */
  private FullHttpRequest call(CheckedRequest request) {
    return GrpcCheckCall.request(checkRequest(request), config.authority(), config.timeoutNanos());
  }

  CheckRequest checkRequest(CheckedRequest request) {
    RequestHead head = request.head();
    Map<String, String> headers = new LinkedHashMap<>();
    request.headers().forEach((name, value) -> {
      String lower = name.toLowerCase(Locale.ROOT);
      if (lower.startsWith(":") || ExtAuthzConfig.anyMatch(config.disallowedHeaders(), lower)
          || (config.allowedHeaders() != null && !lower.equals("host")
              && !ExtAuthzConfig.anyMatch(config.allowedHeaders(), lower))) {
        return;
      }
      headers.merge(lower, value, (a, b) -> a + "," + b);
    });
    String authority = head.authority();
    String path = head.path() + (head.query() == null ? "" : "?" + head.query());
    headers.put(":authority", authority == null ? "" : authority);
    headers.put(":method", head.method());
    headers.put(":path", path);
    // The request's :scheme (HTTP/2: as sent; HTTP/1.1: the connection's TLS), as Envoy's CheckRequestUtils reads it.
    String scheme = head.scheme() != null ? head.scheme() : request.tls() ? "https" : "http";
    AttributeContext.HttpRequest.Builder http = AttributeContext.HttpRequest.newBuilder()
        .setMethod(head.method()).setPath(path).setHost(authority == null ? "" : authority).setScheme(scheme)
        .setQuery(head.query() == null ? "" : head.query()).putAllHeaders(headers);
    String id = headers.get("x-request-id");
    if (id != null) {
      http.setId(id);
    }
    AttributeContext.Peer.Builder source = AttributeContext.Peer.newBuilder();
    if (request.remoteAddress() != null) {
      source.setAddress(GrpcCheckCall.address(request.remoteAddress()));
    }
    if (request.peerPrincipal() != null) {
      source.setPrincipal(request.peerPrincipal());
    }
    AttributeContext.Peer.Builder destination = AttributeContext.Peer.newBuilder();
    if (request.localAddress() != null) {
      destination.setAddress(GrpcCheckCall.address(request.localAddress()));
    }
    long now = System.currentTimeMillis();
    return CheckRequest.newBuilder().setAttributes(AttributeContext.newBuilder()
        .setSource(source).setDestination(destination)
        .setRequest(AttributeContext.Request.newBuilder()
            .setTime(com.google.protobuf.Timestamp.newBuilder().setSeconds(now / 1000).setNanos((int) (now % 1000) * 1_000_000))
            .setHttp(http))).build();
  }

  CheckOutcome answer(UpstreamCalls.Response response) {
    CheckResponse r = GrpcCheckCall.response(response);
    if (r == null) {
      return HttpAuthzCheck.failure(config, stats);
    }
    if (r.getStatus().getCode() == 0) {
      stats.ok().increment();
      var ok = r.getOkResponse();
      if (ok.getHeadersCount() == 0 && ok.getHeadersToRemoveCount() == 0) {
        return CheckOutcome.ALLOW;
      }
      List<HeaderMutations.HeaderValue> add = new ArrayList<>(ok.getHeadersCount());
      for (HeaderValueOption h : ok.getHeadersList()) {
        String name = h.getHeader().getKey().toLowerCase(Locale.ROOT);
        String value = h.getHeader().getValue();
        if (io.keelson.dataplane.filter.ServerHeaderField.valid(name, value) && !name.equals("host") // never a pseudo-header,
            && !io.keelson.dataplane.filter.ServerHeaderField.framing(name)) { // Host, body framing or a smuggled line
          add.add(new HeaderMutations.HeaderValue(name, value, h.hasAppend() && h.getAppend().getValue()));
        }
      }
      List<String> remove = new ArrayList<>(ok.getHeadersToRemoveCount());
      for (String name : ok.getHeadersToRemoveList()) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (!lower.startsWith(":") && !lower.equals("host") // Envoy never removes pseudo-headers or Host; framing neither
            && !io.keelson.dataplane.filter.ServerHeaderField.framing(lower)) {
          remove.add(lower);
        }
      }
      return CheckOutcome.allow(new HeaderMutations(add, remove));
    }
    stats.denied().increment();
    var denied = r.getDeniedResponse();
    int status = denied.hasStatus() && denied.getStatus().getCodeValue() >= 200 && denied.getStatus().getCodeValue() <= 599
        ? denied.getStatus().getCodeValue() : 403;
    StringBuilder lines = new StringBuilder();
    for (HeaderValueOption h : denied.getHeadersList()) {
      String name = h.getHeader().getKey().toLowerCase(Locale.ROOT);
      String value = h.getHeader().getValue();
      if (io.keelson.dataplane.filter.ServerHeaderField.valid(name, value)) {
        lines.append(name).append(": ").append(value).append("\r\n");
      }
    }
    return CheckOutcome.deny(status, denied.getBody(), lines.isEmpty() ? null : lines.toString(), ResponseFlag.UAEX);
  }
}
