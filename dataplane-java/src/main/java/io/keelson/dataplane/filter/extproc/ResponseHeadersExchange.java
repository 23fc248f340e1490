package io.keelson.dataplane.filter.extproc;

import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpHeaders;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedResponse;
import io.keelson.dataplane.filter.ResponseCheck;
import io.keelson.dataplane.http2.UpstreamCalls;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The response-headers phase of Envoy's ext_proc protocol on the request's {@link ProcessorSession}: one
 * {@code ProcessingRequest{response_headers}} ({@code :status} and every header field of the upstream's response,
 * {@code end_of_stream} when it has no body) while the connection holds the response; the answer is either
 * {@code response_headers} (its header mutation, checked by {@link ProcessorMutations} with no pseudo-header
 * changed, is applied before the client sees the head) or {@code immediate_response} (replaces the upstream's
 * response). One per request (the session's); {@link #start} runs on the connection's event loop.
 */
final class ResponseHeadersExchange implements ResponseCheck {
  private final ProcessorSession session;
  private final ProcessorStream stream;

  ResponseHeadersExchange(ProcessorSession session) {
    this.session = session;
    this.stream = session.filter();
  }

  @Override
  public UpstreamCalls.Call start(CheckedResponse response, Consumer<CheckOutcome> done) {
    Set<String> present = new HashSet<>();
    HeaderMap.Builder headers = HeaderMap.newBuilder();
    headers.addHeaders(ProcessorStream.field(":status", Integer.toString(response.status())));
    ProcessorMutations.fields(response.headers(), headers, present);
    ProcessingRequest message = ProcessingRequest.newBuilder().setResponseHeaders(HttpHeaders.newBuilder()
        .setHeaders(headers).setEndOfStream(response.endOfStream())).build();
    return session.send(response.loop(), response.calls(), response.snapshot(), message, r -> answer(r, present), done);
  }

  private CheckOutcome answer(ProcessingResponse r, Set<String> present) {
    if (r.getResponseCase() != ProcessingResponse.ResponseCase.RESPONSE_HEADERS) {
      return stream.spurious();
    }
    var common = r.getResponseHeaders().getResponse();
    if (stream.unusable(common)) {
      return stream.failed();
    }
    stream.clearRouteCacheIgnored(common); // Envoy ignores it in the response direction
    return CheckOutcome.allow(ProcessorMutations.forResponse(common.getHeaderMutation(), present,
        stream.stats.rejectedHeaderMutations())).withPhases(ModeOverride.of(session, r, false));
  }
}
