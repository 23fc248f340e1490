package io.keelson.dataplane.filter.extproc;

import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedRequest;
import io.keelson.dataplane.filter.ExternalCheck;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.route.RequestHead;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The request-headers phase of Envoy's ext_proc protocol on the request's {@link ProcessorSession}: one
 * {@code ProcessingRequest{request_headers}} (pseudo-headers and every header field, values in {@code raw_value} as
 * Envoy sends them); the processor's answer is either {@code request_headers} (its {@code CommonResponse}'s header
 * mutation, checked by {@link ProcessorMutations}, is applied to the request before the filters after ext_proc run
 * and before it is forwarded) or {@code immediate_response} (its status, headers, body and grpc_status answer the
 * client; the upstream never sees the request). Anything else (another phase's answer, a body mutation Keelson cannot
 * apply) fails as {@link ProcessorStream} fails. One per request (the session's); {@link #start} runs on the connection's event
 * loop.
 */
final class RequestHeadersExchange implements ExternalCheck {
  private final ProcessorSession session;
  private final ProcessorStream stream;

  RequestHeadersExchange(ProcessorSession session) {
    this.session = session;
    this.stream = session.filter();
  }

  @Override
  public UpstreamCalls.Call start(CheckedRequest request, Consumer<CheckOutcome> done) {
    Set<String> present = new HashSet<>();
    ProcessingRequest message = processingRequest(request, present);
    return session.send(request.loop(), request.calls(), request.snapshot(), message, r -> answer(r, present), done);
  }

  /** The request_headers message; fills {@code present} with the request's lower-case header names. */
  static ProcessingRequest processingRequest(CheckedRequest request, Set<String> present) {
    RequestHead head = request.head();
    HeaderMap.Builder headers = HeaderMap.newBuilder();
    String scheme = head.scheme() != null ? head.scheme() : request.tls() ? "https" : "http";
    String path = head.path() + (head.query() == null ? "" : "?" + head.query());
    headers.addHeaders(ProcessorStream.field(":authority", head.authority() == null ? "" : head.authority()));
    headers.addHeaders(ProcessorStream.field(":method", head.method()));
    headers.addHeaders(ProcessorStream.field(":path", path));
    headers.addHeaders(ProcessorStream.field(":scheme", scheme));
    ProcessorMutations.fields(request.headers(), headers, present);
    return ProcessingRequest.newBuilder().setRequestHeaders(HttpHeaders.newBuilder().setHeaders(headers)
        .setEndOfStream(request.endOfStream())).build();
  }

  private CheckOutcome answer(ProcessingResponse r, Set<String> present) {
    if (r.getResponseCase() != ProcessingResponse.ResponseCase.REQUEST_HEADERS) {
      return stream.spurious();
    }
    var common = r.getRequestHeaders().getResponse();
    if (stream.unusable(common)) {
      return stream.failed(); // Keelson does not buffer the body: it cannot replace it here
    }
    CheckOutcome allowed = stream.clearingRouteCache(common, CheckOutcome.allow(ProcessorMutations.forRequest(
        common.getHeaderMutation(), present, stream.stats.rejectedHeaderMutations())));
    return allowed.withPhases(ModeOverride.of(session, r, true)); // the response-headers phase too
  }
}
