package io.keelson.dataplane.filter.extproc;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.service.ext_proc.v3.BodyMutation;
import io.envoyproxy.envoy.service.ext_proc.v3.CommonResponse;
import io.envoyproxy.envoy.service.ext_proc.v3.HttpBody;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.StreamedBodyCheck;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A STREAMED body phase of Envoy's ext_proc protocol on the request's {@link ProcessorSession}: each chunk as read is
 * one {@code request_body}/{@code response_body} message ({@code end_of_stream} on the last, unless trailers follow:
 * then, as Envoy's, the last has it false and no empty one is sent), and is held until its answer, which forwards it as the answer's {@code body_mutation} leaves it ({@code body} replaces the chunk,
 * {@code clear_body} empties it); answers come in order, so chunks are forwarded in order. At most
 * {@link #MAX_IN_FLIGHT_BYTES} (or {@link #MAX_IN_FLIGHT_CHUNKS}) are held: beyond, the producer's reads are paused
 * until answers come. Each message is answered within message_timeout (the oldest's timer runs), else the phase fails
 * as a headers phase does (504 / 500, or the chunks go on unchanged with failure_mode_allow); an
 * {@code immediate_response} answers the client. Once the session ended (processing complete, failure allowed) the
 * held and later chunks go on unchanged. Header mutations of chunk answers are not applied (the head was forwarded):
 * counted in rejected_header_mutations. One per body; confined to the connection's event loop.
 */
final class StreamedBodyExchange implements StreamedBodyCheck.Body {
  /** As Envoy's default per-stream buffer limit keeps about 64 KiB of a streamed body in flight. */
  static final int MAX_IN_FLIGHT_BYTES = 64 * 1024;
  static final int MAX_IN_FLIGHT_CHUNKS = 16;

  private final ProcessorSession session;
  private final ProcessorStream stream;
  private final boolean response;
  private final EventLoop loop;
  private final UpstreamCalls calls;
  private final ServingSnapshot snapshot;
  private final StreamedBodyCheck.Sink sink;
  /** The chunks sent and not yet answered, oldest first. */
  private final ArrayDeque<ByteBuf> inFlight = new ArrayDeque<>();
  private long inFlightBytes;
  /** The last chunk was offered: the youngest in flight (if any) is the body's end. */
  private boolean lastOffered;
  private boolean paused;
  /** No more messages: chunks pass unchanged (processing complete) or are dropped (denied). */
  private boolean passThrough;
  private boolean denied;
  private ScheduledFuture<?> timer;

  StreamedBodyExchange(ProcessorSession session, boolean response, EventLoop loop, UpstreamCalls calls,
      ServingSnapshot snapshot, StreamedBodyCheck.Sink sink) {
    this.session = session;
    this.stream = session.filter();
    this.response = response;
    this.loop = loop;
    this.calls = calls;
    this.snapshot = snapshot;
    this.sink = sink;
  }

  boolean response() {
    return response;
  }

  /** A chunk is waiting for its answer. */
  boolean awaiting() {
    return !inFlight.isEmpty();
  }

  @Override
  public void offer(ByteBuf chunk, boolean last, boolean trailers) {
    if (denied) {
      chunk.release();
      return;
    }
    lastOffered |= last;
    if (passThrough) {
      sink.forward(chunk, last);
      return;
    }
    if (last && trailers && !chunk.isReadable()) { // the end came with trailers alone: their message follows
      if (inFlight.isEmpty()) {
        sink.forward(chunk, true);
      } else {
        chunk.release(); // the youngest chunk in flight goes on as the end once answered (lastOffered)
      }
      return;
    }
    // With trailers, Envoy's last body message is not the message's end: end_of_stream false, then the trailers
    HttpBody.Builder b = HttpBody.newBuilder().setBody(ByteString.copyFrom(chunk.nioBuffer()))
        .setEndOfStream(last && !trailers);
    ProcessingRequest message = response ? ProcessingRequest.newBuilder().setResponseBody(b).build()
        : ProcessingRequest.newBuilder().setRequestBody(b).build();
    inFlight.addLast(chunk);
    inFlightBytes += chunk.readableBytes();
    if (!session.sendChunk(loop, calls, snapshot, message, this)) {
      return; // the session ended (or failed to open): passed on or denied by now
    }
    if (timer == null) {
      startTimer();
    }
    if (inFlightBytes > MAX_IN_FLIGHT_BYTES || inFlight.size() >= MAX_IN_FLIGHT_CHUNKS) {
      paused = true;
      sink.pause(); // again on every chunk over the limit: the connection may have resumed reading for its own reasons
    }
  }

  private void startTimer() {
    timer = loop.schedule(this::timedOut, stream.config.callTimeoutNanos(), TimeUnit.NANOSECONDS);
  }

  private void stopTimer() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void timedOut() {
    timer = null;
    if (!inFlight.isEmpty()) {
      session.fail(stream.messageTimedOut());
    }
  }

  /** The oldest chunk's answer (its own phase's, or an immediate response). */
  void answered(ProcessingResponse r) {
    stopTimer();
    if (r.getResponseCase() == ProcessingResponse.ResponseCase.IMMEDIATE_RESPONSE) {
      session.fail(stream.outcome(r, null));
      return;
    }
    CommonResponse common = response ? r.getResponseBody().getResponse() : r.getRequestBody().getResponse();
    if (common.hasTrailers()) {
      session.fail(stream.spurious());
      return;
    }
    stream.clearRouteCacheIgnored(common);
    if (common.hasHeaderMutation()) {
      stream.stats.rejectedHeaderMutations().add(
          common.getHeaderMutation().getSetHeadersCount() + common.getHeaderMutation().getRemoveHeadersCount());
    }
    ByteBuf chunk = inFlight.pollFirst();
    inFlightBytes -= chunk.readableBytes();
    BodyMutation m = common.getBodyMutation();
    if (m.getMutationCase() == BodyMutation.MutationCase.BODY) {
      chunk.release();
      chunk = Unpooled.wrappedBuffer(m.getBody().toByteArray());
    } else if (m.getMutationCase() == BodyMutation.MutationCase.CLEAR_BODY && m.getClearBody()) {
      chunk.release();
      chunk = Unpooled.EMPTY_BUFFER;
    }
    if (!inFlight.isEmpty()) {
      startTimer();
    }
    forward(chunk);
    if (paused && inFlightBytes <= MAX_IN_FLIGHT_BYTES / 2 && inFlight.size() < MAX_IN_FLIGHT_CHUNKS / 2) {
      paused = false;
      sink.resume();
    }
  }

  private void forward(ByteBuf chunk) {
    sink.forward(chunk, lastOffered && inFlight.isEmpty());
  }

  /**
   * The session ended: with {@code outcome} allowed (processing complete, or failed with failure_mode_allow) the held
   * chunks and every later one go on unchanged; denied, they are dropped and the connection answers or cuts.
   */
  void ended(CheckOutcome outcome) {
    stopTimer();
    if (passThrough || denied) {
      return;
    }
    if (outcome.allowed()) {
      passThrough = true;
      ByteBuf chunk;
      while ((chunk = inFlight.pollFirst()) != null) {
        forward(chunk);
      }
    } else {
      denied = true;
      release();
      sink.denied(outcome);
    }
    inFlightBytes = 0;
    if (paused) {
      paused = false;
      sink.resume();
    }
  }

  /** The exchange went away: the held chunks are released, nothing more is forwarded. */
  void release() {
    stopTimer();
    denied = true;
    ByteBuf chunk;
    while ((chunk = inFlight.pollFirst()) != null) {
      chunk.release();
    }
    inFlightBytes = 0;
  }
}
