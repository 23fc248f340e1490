package io.keelson.dataplane.filter.extproc;

import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
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
 * The BUFFERED request-body phase of Envoy's ext_proc protocol on its own {@link ProcessorStream}: the whole body
 * (read by the connection up to {@link ExtProcConfig#BUFFER_LIMIT_BYTES}, 413 over it) in one
 * {@code ProcessingRequest{request_body{body, end_of_stream: true}}}; the answer is {@code request_body} (its header
 * mutation applies to the request, its {@code body_mutation} replaces the body ({@code body}) or empties it
 * ({@code clear_body}), content-length fixed) or {@code immediate_response}. Immutable and shared; {@link #start}
 * runs on the connection's event loop.
 */
final class RequestBodyExchange implements BodyCheck {
  private final ProcessorStream stream;

  RequestBodyExchange(ProcessorStream stream) {
    this.stream = stream;
  }

  @Override
  public UpstreamCalls.Call start(CheckedBody body, Consumer<CheckOutcome> done) {
    Set<String> present = new HashSet<>();
    ProcessorMutations.fields(body.headers(), HeaderMap.newBuilder(), present);
    ProcessingRequest message = ProcessingRequest.newBuilder().setRequestBody(HttpBody.newBuilder()
        .setBody(com.google.protobuf.ByteString.copyFrom(body.body())).setEndOfStream(true)).build();
    return stream.send(body.loop(), body.calls(), body.snapshot(), message, r -> answer(r, present), done);
  }

  private CheckOutcome answer(ProcessingResponse r, Set<String> present) {
    if (r.getResponseCase() != ProcessingResponse.ResponseCase.REQUEST_BODY) {
      return stream.spurious();
    }
    var common = r.getRequestBody().getResponse();
    if (common.hasTrailers()) {
      return stream.spurious();
    }
    stream.clearRouteCacheIgnored(common);
    CheckOutcome allowed = CheckOutcome.allow(ProcessorMutations.forRequest(common.getHeaderMutation(), present,
        stream.stats.rejectedHeaderMutations()));
    BodyMutation m = common.getBodyMutation();
    return switch (m.getMutationCase()) {
      case BODY -> allowed.withReplacementBody(m.getBody().toByteArray());
      case CLEAR_BODY -> m.getClearBody() ? allowed.withReplacementBody(new byte[0]) : allowed;
      default -> allowed;
    };
  }
}
