package io.keelson.dataplane.filter.extproc;

import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.BodyCheck;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedBody;
import io.keelson.dataplane.http2.UpstreamCalls;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A BUFFERED body phase of Envoy's ext_proc protocol on the request's {@link ProcessorSession}: the whole request or response
 * body (held by the connection up to {@link ExtProcConfig#BUFFER_LIMIT_BYTES}: over it a request is answered 413, a
 * response 500) in one {@code ProcessingRequest{request_body|response_body{body, end_of_stream: true}}}; the answer is
 * the same phase's (its header mutation applies to the request's or response's headers, its {@code body_mutation}
 * replaces the body ({@code body}) or empties it ({@code clear_body}), content-length fixed) or
 * {@code immediate_response}. One per request (the session's); {@link #start} runs on the connection's event loop.
 */
final class BodyExchange implements BodyCheck {
  private final ProcessorSession session;
  private final ProcessorStream stream;
  /** The response body's phase, else the request body's. */
  private final boolean response;

  BodyExchange(ProcessorSession session, boolean response) {
    this.session = session;
    this.stream = session.filter();
    this.response = response;
  }

  @Override
  public long maxBytes() {
    return ExtProcConfig.BUFFER_LIMIT_BYTES;
  }

  @Override
  public UpstreamCalls.Call start(CheckedBody body, Consumer<CheckOutcome> done) {
    Set<String> present = new HashSet<>();
    ProcessorMutations.fields(body.headers(), HeaderMap.newBuilder(), present);
    HttpBody.Builder b = HttpBody.newBuilder().setBody(com.google.protobuf.ByteString.copyFrom(body.body()))
        .setEndOfStream(true);
    ProcessingRequest message = response ? ProcessingRequest.newBuilder().setResponseBody(b).build()
        : ProcessingRequest.newBuilder().setRequestBody(b).build();
    return session.send(body.loop(), body.calls(), body.snapshot(), message, r -> answer(r, present), done);
  }

  private CheckOutcome answer(ProcessingResponse r, Set<String> present) {
    ProcessingResponse.ResponseCase expected = response ? ProcessingResponse.ResponseCase.RESPONSE_BODY
        : ProcessingResponse.ResponseCase.REQUEST_BODY;
    if (r.getResponseCase() != expected) {
      return stream.spurious();
    }
    CommonResponse common = response ? r.getResponseBody().getResponse() : r.getRequestBody().getResponse();
    if (common.hasTrailers()) {
      return stream.spurious();
    }
    stream.clearRouteCacheIgnored(common);
    var headers = response
        ? ProcessorMutations.forResponse(common.getHeaderMutation(), present, stream.stats.rejectedHeaderMutations())
        : ProcessorMutations.forRequest(common.getHeaderMutation(), present, stream.stats.rejectedHeaderMutations());
    CheckOutcome allowed = CheckOutcome.allow(headers);
    BodyMutation m = common.getBodyMutation();
    return switch (m.getMutationCase()) {
      case BODY -> allowed.withReplacementBody(m.getBody().toByteArray());
      case CLEAR_BODY -> m.getClearBody() ? allowed.withReplacementBody(new byte[0]) : allowed;
      default -> allowed;
    };
  }
}
