package io.keelson.dataplane.filter.grpcjson;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.envoyproxy.envoy.extensions.filters.http.grpc_json_transcoder.v3.GrpcJsonTranscoder;
import io.keelson.dataplane.filter.BodyCheck;
import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.RecordedConfigErrors;
import io.keelson.dataplane.http2.UpstreamCalls;
import io.keelson.dataplane.route.TestRequest;
import org.junit.jupiter.api.Test;

/** What the transcoder's filter decides on a request head: the body check that makes the message, or a local 400. */
class GrpcJsonFilterTest {
  private static final GrpcJsonFilter FILTER = new GrpcJsonFilter((TranscoderSettings) new GrpcJsonTranscoderFactory().translate(
      GrpcJsonTranscoder.newBuilder().setProtoDescriptorBin(ByteString.copyFrom(Bookstore.descriptorSet()))
          .addServices("bookstore.Bookstore").build(), "f", new RecordedConfigErrors()));

  private static FilterContext run(FilterContext context, String method, String target) {
    context.head = TestRequest.request(method, target, "h");
    FILTER.onRequest(context);
    return context;
  }

  @Test
  void aRuleWithABodyMakesItsMessageInABodyCheckBeforeRouting() {
    FilterContext c = run(new FilterContext(), "POST", "/v1/shelves");
    assertThat(c.transcoded()).isNotNull();
    assertThat(c.bufferLimit()).isEqualTo(TranscoderSettings.BUFFER_LIMIT_BYTES);
    assertThat(c.takeRequestBodyCheck()).isInstanceOf(RequestBodyCheck.class);
    assertThat(run(new FilterContext(), "GET", "/v1/shelves/1").takeRequestBodyCheck()).isNull(); // no body rule
  }

  @Test
  void anEarlierFiltersBodyCheckKeepsItsPlace() {
    BodyCheck earlier = new BodyCheck() {
      @Override
      public UpstreamCalls.Call start(io.keelson.dataplane.filter.CheckedBody body,
          java.util.function.Consumer<io.keelson.dataplane.filter.CheckOutcome> done) {
        return UpstreamCalls.Call.ENDED;
      }

      @Override
      public long maxBytes() {
        return 1;
      }
    };
    FilterContext c = new FilterContext();
    c.checkRequestBody(earlier);
    assertThat(run(c, "POST", "/v1/shelves").takeRequestBodyCheck()).isSameAs(earlier);
  }

  @Test
  void aBoundValueThatDoesNotFitItsFieldIsAnswered400ByTheFilter() {
    FilterContext c = run(new FilterContext(), "GET", "/v1/shelves/abc");
    assertThat(c.hasLocalReply()).isTrue();
    assertThat(c.status()).isEqualTo(400);
    assertThat(c.body()).contains("shelf").contains("abc");
    assertThat(c.transcoded()).isNull();
  }
}
