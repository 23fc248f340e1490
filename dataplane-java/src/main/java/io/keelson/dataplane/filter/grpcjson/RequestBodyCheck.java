package io.keelson.dataplane.filter.grpcjson;

import io.keelson.dataplane.filter.BodyCheck;
import io.keelson.dataplane.filter.CheckOutcome;
import io.keelson.dataplane.filter.CheckedBody;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.stats.ResponseFlag;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * Turns a transcoded request's whole JSON body into its gRPC message once the connection has read it, before the
 * request is routed to an upstream: a body that does not make the message is answered 400 locally with the parser's
 * reason (as Envoy's transcoder answers from decodeData), never sent upstream. The message is left on the call for
 * {@link GrpcJsonUpstreamCodec}. One per transcoded request with a body rule; runs on the connection's event loop.
 */
final class RequestBodyCheck implements BodyCheck {
  private final TranscodedCall call;

  RequestBodyCheck(TranscodedCall call) {
    this.call = call;
  }

  @Override
  public UpstreamCalls.Call start(CheckedBody body, Consumer<CheckOutcome> done) {
    CheckOutcome outcome;
    try {
      call.message(RequestMessages.message(call, new String(body.body(), StandardCharsets.UTF_8)).toByteArray());
      outcome = CheckOutcome.ALLOW;
    } catch (IllegalArgumentException e) {
      outcome = CheckOutcome.deny(400, e.getMessage(), null, ResponseFlag.NONE);
    }
    CheckOutcome answer = outcome;
    body.loop().execute(() -> done.accept(answer)); // after start returns, as a side call's answer comes
    return UpstreamCalls.Call.ENDED;
  }

  @Override
  public long maxBytes() {
    return call.settings().maxBodyBytes();
  }
}
