package io.keelson.dataplane.http2;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** grpc-timeout parsing, grpc-message encoding and the trailers-only reply. */
class GrpcRepliesTest {
  @Test
  void grpcTimeoutUnitsAreRead() {
    assertThat(GrpcReplies.timeoutNanos("300m")).isEqualTo(300_000_000L);
    assertThat(GrpcReplies.timeoutNanos("2S")).isEqualTo(2_000_000_000L);
    assertThat(GrpcReplies.timeoutNanos("1H")).isEqualTo(3_600_000_000_000L);
    assertThat(GrpcReplies.timeoutNanos("5u")).isEqualTo(5_000L);
    assertThat(GrpcReplies.timeoutNanos("7n")).isEqualTo(7L);
    assertThat(GrpcReplies.timeoutNanos("99999999M")).isPositive();
  }

  @Test
  void malformedGrpcTimeoutsAreIgnored() {
    assertThat(GrpcReplies.timeoutNanos(null)).isZero();
    assertThat(GrpcReplies.timeoutNanos("m")).isZero();
    assertThat(GrpcReplies.timeoutNanos("10x")).isZero();
    assertThat(GrpcReplies.timeoutNanos("-1S")).isZero();
    assertThat(GrpcReplies.timeoutNanos("123456789S")).isZero(); // more than 8 digits
  }

  @Test
  void grpcMessageIsPercentEncoded() {
    assertThat(GrpcReplies.percentEncode("no healthy upstream")).isEqualTo("no healthy upstream");
    assertThat(GrpcReplies.percentEncode("100% ✓\n")).isEqualTo("100%25 %E2%9C%93%0A");
  }

  @Test
  void aLocalFailureIsATrailersOnlyResponse() {
    var r = GrpcReplies.trailersOnly(GrpcReplies.UNAVAILABLE, "no healthy upstream");
    assertThat(r.status().code()).isEqualTo(200);
    assertThat(r.headers().get("content-type")).isEqualTo("application/grpc");
    assertThat(r.headers().get("grpc-status")).isEqualTo("14");
    assertThat(r.content().readableBytes()).isZero();
    assertThat(r.trailingHeaders().isEmpty()).isTrue(); // one HEADERS frame with END_STREAM
  }
}
