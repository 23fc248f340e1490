package io.keelson.dataplane.filter.extproc;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.Durations;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingRequest;
import io.envoyproxy.envoy.service.ext_proc.v3.ProcessingResponse;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.SideCall;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.routing.ServingSnapshot;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One HTTP request's {@code envoy.service.ext_proc.v3.ExternalProcessor/Process} stream, as Envoy keeps one per
 * request: opened on the processor's HTTP/2 cluster ({@link SideCall#stream}) when the first phase is sent, each phase
 * one {@code ProcessingRequest} on it, in the order the exchange reaches them, with at most one outstanding; the next
 * {@code ProcessingResponse} answers it; a phase sent while another is outstanding (a request's trailers while its
 * headers are checked) waits for that answer, one at most (another phase's answer is a protocol violation, {@link ProcessorStream}), or
 * extends its message_timeout (override_message_timeout, up to max_message_timeout).
 * No answer within message_timeout or a failed stream (reset, a non-OK grpc-status) fail the phase (504 / 500, or on
 * through with failure_mode_allow) and end the stream; so does an immediate response. The processor ending the stream
 * with OK completes processing (an outstanding phase goes on unchanged). Once it ended, later phases are not sent (the
 * request goes on unchanged, as Envoy's processing is then complete). When the exchange ends ({@link #end}: response done, client gone or reset) the stream is half-closed and
 * reset, so the processor sees it end and its slot of the cluster's circuit breakers is freed. Created per request
 * on any thread; used and ended on the connection's event loop.
 */
final class ProcessorSession implements UpstreamCalls.StreamCallback, UpstreamCalls.Call {
  private final ProcessorStream filter;
  /** The phase checks this request's filter asked the connection for. */
  private final SessionPhases phases = new SessionPhases(this);
  private EventLoop loop;
  private UpstreamCalls.Stream call;
  /** The outstanding phase's answer and where its outcome goes; null when none is outstanding. */
  private Function<ProcessingResponse, CheckOutcome> answer;
  private Consumer<CheckOutcome> done;
  private ScheduledFuture<?> timer;
  /** The outstanding message's timeout was overridden already (once per message). */
  private boolean overridden;
  /** The answer's bytes not yet a whole gRPC message. */
  private ByteBuf inbound;
  private boolean ended;
  /** The STREAMED request and response bodies' phases, once their first chunk was sent. */
  private StreamedBodyExchange requestBody;
  private StreamedBodyExchange responseBody;
  /** The phase sent while another was outstanding, sent once that one is answered; null when none waits. */
  private Waiting waiting;

  /** A phase waiting for the outstanding one's answer: what {@link #send} was given. */
  private record Waiting(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot, ProcessingRequest message,
      Function<ProcessingResponse, CheckOutcome> answer, Consumer<CheckOutcome> done) {}

  ProcessorSession(ProcessorStream filter) {
    this.filter = filter;
  }

  ProcessorStream filter() {
    return filter;
  }

  SessionPhases phases() {
    return phases;
  }

  /**
   * Sends one phase's {@code message}, opening the stream first if this is the first phase; {@code answer} turns the
   * processor's answer into the outcome {@code done} gets on {@code loop}.
   *
   * @return the call to cancel when the request goes away (it ends the whole stream)
   */
  UpstreamCalls.Call send(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot, ProcessingRequest message,
      Function<ProcessingResponse, CheckOutcome> answer, Consumer<CheckOutcome> done) {
    if (ended) {
      done.accept(CheckOutcome.ALLOW); // processing complete (or failed with failure_mode_allow): not sent
      return UpstreamCalls.Call.ENDED;
    }
    if (filter.config.observability()) { // send and go: the exchange does not wait, answers are ignored
      if (open(loop, calls, snapshot)) {
        write(message);
      }
      done.accept(CheckOutcome.ALLOW);
      return UpstreamCalls.Call.ENDED;
    }
    if (this.answer != null && waiting == null) { // e.g. request trailers while request headers are checked
      waiting = new Waiting(loop, calls, snapshot, message, answer, done);
      return this;
    }
    if (this.answer != null) { // at most one waits; a third phase at once would be a Keelson bug
      filter.stats.spuriousMsgsReceived().increment();
      done.accept(filter.failed());
      return UpstreamCalls.Call.ENDED;
    }
    this.answer = answer;
    this.done = done;
    if (!open(loop, calls, snapshot)) { // failed at once: done already called
      return UpstreamCalls.Call.ENDED;
    }
    write(message);
    overridden = false;
    timer = loop.schedule(this::timedOut, filter.config.callTimeoutNanos(), TimeUnit.NANOSECONDS);
    return this;
  }

  /**
   * Sends one STREAMED body chunk's {@code message} for {@code body} (which holds the chunk and times its answer),
   * opening the stream first if needed; answers of that phase go to {@code body} in order, as they come, while other
   * phases may be outstanding. False when the session had ended or ends now (the body was told, {@link
   * StreamedBodyExchange#ended}).
   */
  boolean sendChunk(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot, ProcessingRequest message,
      StreamedBodyExchange body) {
    if (body.response()) {
      responseBody = body;
    } else {
      requestBody = body;
    }
    if (ended) {
      body.ended(CheckOutcome.ALLOW); // processing complete (or failed with failure_mode_allow): not sent
      return false;
    }
    if (!open(loop, calls, snapshot)) {
      return false;
    }
    write(message);
    return true;
  }

  /** Opens the stream on the first phase; false when it failed at once (its failure was handled). */
  private boolean open(EventLoop loop, UpstreamCalls calls, ServingSnapshot snapshot) {
    this.loop = loop;
    if (call == null) {
      filter.stats.streamsStarted().increment();
      call = SideCall.stream(loop, calls, snapshot, filter.config.cluster(), head(), this);
    }
    return call != null && !ended;
  }

  private void write(ProcessingRequest message) {
    byte[] bytes = message.toByteArray();
    call.send(Unpooled.buffer(5 + bytes.length).writeByte(0).writeInt(bytes.length).writeBytes(bytes));
    filter.stats.streamMsgsSent().increment();
  }

  /**
   * The Process stream's head. Without grpc-timeout, as Envoy opens it: message_timeout is Keelson's own timer per
   * message (counted in message_timeouts), not a deadline the processor answers DEADLINE_EXCEEDED to.
   */
  private HttpRequest head() {
    HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, ProcessorStream.PATH);
    r.headers().set("host", filter.config.authority()).set("content-type", "application/grpc").set("te", "trailers");
    return r;
  }

  @Override
  public void onData(ByteBuf data) {
    if (ended) {
      return; // processing is over (an observability stream's deferred close): nothing more is read
    }
    if (inbound == null) {
      inbound = Unpooled.buffer(Math.max(256, data.readableBytes()));
    }
    inbound.writeBytes(data);
    while (!ended && inbound.readableBytes() >= 5) {
      int at = inbound.readerIndex();
      boolean compressed = inbound.getByte(at) != 0;
      int length = inbound.getInt(at + 1);
      if (compressed || length < 0 || length > ExtProcConfig.MAX_RESPONSE_BYTES) {
        fail(filter.unreadable());
        return;
      }
      if (inbound.readableBytes() < 5 + length) {
        return;
      }
      ProcessingResponse r;
      try {
        r = ProcessingResponse.parseFrom(inbound.nioBuffer(at + 5, length));
      } catch (InvalidProtocolBufferException e) {
        fail(filter.unreadable());
        return;
      }
      inbound.skipBytes(5 + length);
      received(r);
    }
    if (inbound != null) {
      inbound.discardReadBytes();
    }
  }

  private void received(ProcessingResponse r) {
    filter.stats.streamMsgsReceived().increment();
    if (filter.config.observability()) {
      return; // observability_mode: answers are ignored, as Envoy's
    }
    if (r.getResponseCase() == ProcessingResponse.ResponseCase.RESPONSE_NOT_SET && r.hasOverrideMessageTimeout()) {
      overrideTimeout(Durations.toNanos(r.getOverrideMessageTimeout()));
      return;
    }
    StreamedBodyExchange body = streamedFor(r);
    if (body != null) {
      body.answered(r);
      return;
    }
    Function<ProcessingResponse, CheckOutcome> a = answer;
    if (a == null) { // nothing outstanding: Envoy counts and drops it
      filter.stats.spuriousMsgsReceived().increment();
      return;
    }
    Consumer<CheckOutcome> d = take();
    CheckOutcome outcome = filter.outcome(r, a);
    if (!outcome.allowed()) {
      close(null); // an immediate response or a violation: processing is over
    } else {
      sendWaiting(); // on the wire in the order the connection reached the phases
    }
    d.accept(outcome);
  }

  /**
   * The processor ended the stream. With gRPC OK, as Envoy's onGrpcClose: processing is complete, an outstanding
   * phase goes on unchanged and later ones are not sent; any other status is a failed stream.
   */
  @Override
  public void onEnd(int status, HttpHeaders trailers) {
    if (status != 200 || !"0".equals(trailers.get("grpc-status"))) {
      onFailure("grpc-status " + trailers.get("grpc-status"));
      return;
    }
    call = null;
    filter.stats.streamsClosed().increment();
    Consumer<CheckOutcome> d = take();
    closed(CheckOutcome.ALLOW);
    if (d != null) {
      d.accept(CheckOutcome.ALLOW);
    }
    sendWaiting();
  }

  @Override
  public void onFailure(String reason) {
    call = null;
    if (answer != null || streamedAwaiting()) {
      fail(filter.streamFailed());
    } else if (!ended) {
      filter.stats.streamsFailed().increment();
      closed(CheckOutcome.ALLOW);
    }
  }

  /**
   * A processor's override_message_timeout for the outstanding message, as Envoy takes it: once per message, only with
   * max_message_timeout set and within [1 ms, max_message_timeout]; the message then has {@code nanos} from now.
   * Otherwise counted in override_message_timeout_ignored.
   */
  private void overrideTimeout(long nanos) {
    long max = filter.config.maxMessageTimeoutNanos();
    if (answer == null || timer == null || overridden || max == 0 || nanos < 1_000_000L || nanos > max) {
      filter.stats.overrideMessageTimeoutIgnored().increment();
      return;
    }
    overridden = true;
    filter.stats.overrideMessageTimeoutReceived().increment();
    timer.cancel(false);
    timer = loop.schedule(this::timedOut, nanos, TimeUnit.NANOSECONDS);
  }

  private void timedOut() {
    timer = null;
    if (answer != null) {
      fail(filter.messageTimedOut());
    }
  }

  /**
   * Ends the stream and answers the outstanding phase with {@code outcome}; a STREAMED body's chunks go on with it
   * when allowed, or, denied, are dropped and the body denied unless a headers phase takes the denial.
   */
  void fail(CheckOutcome outcome) {
    Consumer<CheckOutcome> d = take();
    close(d != null && !outcome.allowed() ? null : outcome);
    if (d != null) {
      d.accept(outcome);
    }
    sendWaiting();
  }

  /** Sends the waiting phase once nothing is outstanding (after the end, it goes on unchanged: {@link #send}). */
  private void sendWaiting() {
    Waiting w = waiting;
    if (w == null || answer != null) {
      return;
    }
    waiting = null;
    send(w.loop(), w.calls(), w.snapshot(), w.message(), w.answer(), w.done());
  }

  /** The STREAMED body whose answer {@code r} is: its phase's, or an immediate response while only chunks wait. */
  private StreamedBodyExchange streamedFor(ProcessingResponse r) {
    return switch (r.getResponseCase()) {
      case REQUEST_BODY -> requestBody != null && requestBody.awaiting() ? requestBody : null;
      case RESPONSE_BODY -> responseBody != null && responseBody.awaiting() ? responseBody : null;
      case IMMEDIATE_RESPONSE -> answer != null ? null
          : requestBody != null && requestBody.awaiting() ? requestBody
          : responseBody != null && responseBody.awaiting() ? responseBody : null;
      default -> null;
    };
  }

  private boolean streamedAwaiting() {
    return (requestBody != null && requestBody.awaiting()) || (responseBody != null && responseBody.awaiting());
  }

  private Consumer<CheckOutcome> take() {
    Consumer<CheckOutcome> d = done;
    answer = null;
    done = null;
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
    return d;
  }

  /** The request went away while a phase was outstanding: the stream is reset, no outcome follows. */
  @Override
  public void cancel() {
    take();
    close(null);
  }

  /**
   * The exchange ended (any outcome): half-closes and resets the stream if it is still open; in observability_mode
   * it is half-closed now and reset after deferred_close_timeout unless the processor ended it first. Any thread.
   */
  void end() {
    EventLoop l = loop;
    if (l == null) {
      return; // never sent a phase
    }
    if (!l.inEventLoop()) {
      l.execute(this::end);
      return;
    }
    take();
    UpstreamCalls.Stream c = call;
    if (filter.config.observability() && c != null && !ended) {
      ended = true;
      c.halfClose();
      l.schedule(() -> {
        if (call == c) {
          close(null);
        }
      }, filter.config.deferredCloseNanos(), TimeUnit.NANOSECONDS);
      return;
    }
    close(null);
  }

  /**
   * Half-closes and resets the stream (Envoy's close on a request's end), once; STREAMED bodies go on with
   * {@code bodies} (see {@link StreamedBodyExchange#ended}), or their chunks are released when null.
   */
  private void close(CheckOutcome bodies) {
    UpstreamCalls.Stream c = call;
    if (ended && !(filter.config.observability() && c != null)) { // an observability stream's deferred close goes on
      if (bodies == null) { // the exchange ended after processing did: chunks still held pass no more
        closed(null);
      }
      return;
    }
    call = null;
    if (c != null) {
      c.halfClose();
      c.cancel();
      filter.stats.streamsClosed().increment();
    }
    closed(bodies);
  }

  private void closed(CheckOutcome bodies) {
    ended = true;
    inbound = null;
    if (bodies == null) {
      waiting = null; // the exchange is over (denied or gone): the connection drops what it held
    }
    for (StreamedBodyExchange b : new StreamedBodyExchange[] {requestBody, responseBody}) {
      if (b == null) {
        continue;
      }
      if (bodies == null) {
        b.release();
      } else {
        b.ended(bodies);
      }
    }
  }
}
