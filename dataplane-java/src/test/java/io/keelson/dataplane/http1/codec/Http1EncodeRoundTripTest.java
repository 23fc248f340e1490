package io.keelson.dataplane.http1.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A head written with encodeTo parses back to the same fields. */
@ExtendWith(LeakDetection.class)
class Http1EncodeRoundTripTest {

  @Test
  void requestHeadSurvivesEncodeAndParse() {
    Recorder<Http1Request> first = Recorder.requestParser();
    first.feed("POST /api/v1/items?sort=desc&x=%20 HTTP/1.1\r\nHost: svc.local:8080\r\nContent-Length: 0\r\n"
        + "X-Multi: a\r\nx-multi: b\r\nX-Name: Jos\u00e9\r\nExpect: 100-continue\r\n\r\n");
    Http1Request original = first.heads.getFirst();
    original.headers().add("X-Request-Id", "abc-123");
    original.setPath("/v1/items");

    ByteBuf wire = Unpooled.buffer();
    original.encodeTo(wire);
    assertThat(wire.toString(StandardCharsets.ISO_8859_1)).startsWith("POST /v1/items?sort=desc&x=%20 HTTP/1.1\r\nHost: svc.local:8080\r\n");
    Recorder<Http1Request> second = Recorder.requestParser();
    second.parser.feed(wire);
    assertThat(second.events).containsExactly("head", "complete");
    Http1Request parsed = second.heads.getFirst();
    assertThat(parsed.method()).isEqualTo(original.method());
    assertThat(parsed.uri()).isEqualTo("/v1/items?sort=desc&x=%20");
    assertThat(parsed.path()).isEqualTo("/v1/items");
    assertThat(parsed.query()).isEqualTo("sort=desc&x=%20");
    assertThat(parsed.version()).isEqualTo(Http1Version.HTTP_1_1);
    assertThat(parsed.headers().toString()).isEqualTo(original.headers().toString());
    assertThat(parsed.expectContinue()).isTrue();
    assertThat(parsed.contentLength()).isZero();
    assertThat(wire.refCnt()).isZero();
    first.assertAllReleased();
    second.assertAllReleased();
  }

  @Test
  void responseHeadSurvivesEncodeAndParse() {
    Http1Response original = new Http1Response().setStatus(503, "Service Unavailable");
    original.headers().add("Content-Length", "19").add("Content-Type", "text/plain").add("Connection", "close");
    ByteBuf wire = Unpooled.buffer();
    original.encodeTo(wire);
    wire.writeCharSequence("no healthy upstream", StandardCharsets.US_ASCII);

    Recorder<Http1Response> r = Recorder.responseParser();
    r.parser.feed(wire);
    assertThat(r.events).containsExactly("head", "body", "complete");
    Http1Response parsed = r.heads.getFirst();
    assertThat(parsed.status()).isEqualTo(503);
    assertThat(parsed.reason()).isEqualTo("Service Unavailable");
    assertThat(parsed.headers().toString()).isEqualTo(original.headers().toString());
    assertThat(parsed.keepAlive()).isFalse();
    assertThat(r.bodies).containsExactly("no healthy upstream");
    assertThat(wire.refCnt()).isZero();
    r.assertAllReleased();
  }
}
