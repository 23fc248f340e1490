package io.keelson.dataplane.filter.extproc;

import io.envoyproxy.envoy.config.core.v3.HeaderMap;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpTrailers;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedRequest;
import io.keelson.dataplane.filter.TrailersCheck;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.channel.EventLoop;
import java.util.HashSet;
import java.util.Set;
import java.util.function.Consumer;

/**
 * A trailers phase of Envoy's ext_proc protocol on the request's {@link ProcessorSession}
 * ({@code request_trailer_mode} / {@code response_trailer_mode: SEND}): one
 * {@code ProcessingRequest{request_trailers|response_trailers}} with every trailer field (a gRPC response's
 * {@code grpc-status} and {@code grpc-message} included) while the connection holds the message's end; the answer is
 * the same phase's {@code TrailersResponse}, whose {@code header_mutation} is checked as a headers phase's
 * ({@link ProcessorMutations}: Envoy's default mutation rules) and applied to the trailers, or an
 * {@code immediate_response}. One per message end; {@link #start} runs on the connection's event loop.
 */
final class TrailersExchange implements TrailersCheck {
  private final ProcessorSession session;
  private final ProcessorStream stream;
  /** The response's trailers, else the request's. */
  private final boolean response;

  TrailersExchange(ProcessorSession session, boolean response) {
    this.session = session;
    this.stream = session.filter();
    this.response = response;
  }

  @Override
  public UpstreamCalls.Call start(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot,
      CheckedRequest.HeaderSource trailers, Consumer<CheckOutcome> done) {
    Set<String> present = new HashSet<>();
    HeaderMap.Builder fields = HeaderMap.newBuilder();
    ProcessorMutations.fields(trailers, fields, present);
    HttpTrailers t = HttpTrailers.newBuilder().setTrailers(fields).build();
    ProcessingRequest message = response ? ProcessingRequest.newBuilder().setResponseTrailers(t).build()
        : ProcessingRequest.newBuilder().setRequestTrailers(t).build();
    return session.send(loop, calls, snapshot, message, r -> answer(r, present), done);
  }

  private CheckOutcome answer(ProcessingResponse r, Set<String> present) {
    ProcessingResponse.ResponseCase expected = response ? ProcessingResponse.ResponseCase.RESPONSE_TRAILERS
        : ProcessingResponse.ResponseCase.REQUEST_TRAILERS;
    if (r.getResponseCase() != expected) {
      return stream.spurious();
    }
    var mutation = response ? r.getResponseTrailers().getHeaderMutation() : r.getRequestTrailers().getHeaderMutation();
    return CheckOutcome.allow(response
        ? ProcessorMutations.forResponse(mutation, present, stream.stats.rejectedHeaderMutations())
        : ProcessorMutations.forRequest(mutation, present, stream.stats.rejectedHeaderMutations()));
  }
}
