package io.keelson.dataplane.filter.grpcweb;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.route.RequestHead;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The bridge on HTTP objects (as the upstream stream's HTTP-object codec hands them): headers both ways, the
 * trailer frame, -text both ways, trailers-only and non-gRPC answers; and the filter's request classification.
 */
class GrpcWebUpstreamCodecTest {
  private static ByteBuf ascii(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
  }

  private static String text(HttpContent c) {
    String s = c.content().toString(StandardCharsets.ISO_8859_1);
    c.release();
    return s;
  }

  @Test
  void requestBecomesGrpcAndTheTextBodyIsDecoded() {
    EmbeddedChannel ch = new EmbeddedChannel(new GrpcWebUpstreamCodec(GrpcWebFilter.ON | GrpcWebFilter.TEXT_REQUEST));
    HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/s/M");
    req.headers().set("content-type", "application/grpc-web-text").set("content-length", "12").set("x-grpc-web", "1");
    String body = Base64.getEncoder().encodeToString("\0\0\0\0\3abc".getBytes(StandardCharsets.ISO_8859_1));
    ch.writeOutbound(req, new DefaultHttpContent(ascii(body.substring(0, 3))), new DefaultLastHttpContent(ascii(body.substring(3))));
    HttpRequest out = ch.readOutbound();
    assertThat(out.headers().get("content-type")).isEqualTo("application/grpc");
    assertThat(out.headers().get("te")).isEqualTo("trailers");
    assertThat(out.headers().contains("content-length")).isFalse();
    assertThat(out.headers().get("x-grpc-web")).isEqualTo("1");
    assertThat(out.headers().get("grpc-accept-encoding")).isEqualTo("identity,deflate,gzip");
    // 3 characters are not a quad: nothing goes up until the rest comes.
    LastHttpContent last = ch.readOutbound();
    assertThat(text(last)).isEqualTo("\0\0\0\0\3abc");
    assertThat((Object) ch.readOutbound()).isNull();
    ch.finishAndReleaseAll();
  }

  @Test
  void trailersBecomeTheLastFrameOfTheBody() {
    EmbeddedChannel ch = new EmbeddedChannel(new GrpcWebUpstreamCodec(GrpcWebFilter.ON));
    HttpResponse resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    resp.headers().set("content-type", "application/grpc").set("content-length", "8");
    LastHttpContent end = new DefaultLastHttpContent(ascii("\0\0\0\0\1x"));
    end.trailingHeaders().set("grpc-status", "0").set("grpc-message", "ok").set("x-extra", "v");
    ch.writeInbound(resp, end);
    HttpResponse out = ch.readInbound();
    assertThat(out.headers().get("content-type")).isEqualTo("application/grpc-web+proto");
    assertThat(out.headers().contains("content-length")).isFalse();
    LastHttpContent body = ch.readInbound();
    assertThat(body.trailingHeaders().isEmpty()).isTrue();
    String lines = "grpc-status:0\r\ngrpc-message:ok\r\nx-extra:v\r\n";
    assertThat(text(body)).isEqualTo("\0\0\0\0\1x" + "\u0080\0\0\0" + (char) lines.length() + lines);
    ch.finishAndReleaseAll();
  }

  @Test
  void textResponseIsBase64ChunkByChunkTrailerFrameIncluded() {
    EmbeddedChannel ch = new EmbeddedChannel(new GrpcWebUpstreamCodec(GrpcWebFilter.ON | GrpcWebFilter.TEXT_RESPONSE));
    HttpResponse resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    resp.headers().set("content-type", "application/grpc");
    LastHttpContent end = new DefaultLastHttpContent();
    end.trailingHeaders().set("grpc-status", "0");
    ch.writeInbound(resp, new DefaultHttpContent(ascii("\0\0\0\0\2hi")), end);
    assertThat(((HttpResponse) ch.readInbound()).headers().get("content-type")).isEqualTo("application/grpc-web-text+proto");
    assertThat(text(ch.readInbound())).isEqualTo(Base64.getEncoder().encodeToString("\0\0\0\0\2hi".getBytes(StandardCharsets.ISO_8859_1)));
    byte[] frame = "\u0080\0\0\0\17grpc-status:0\r\n".getBytes(StandardCharsets.ISO_8859_1);
    assertThat(text(ch.readInbound())).isEqualTo(Base64.getEncoder().encodeToString(frame));
    ch.finishAndReleaseAll();
  }

  @Test
  void trailersOnlyResponseKeepsItsStatusInTheHeaders() {
    EmbeddedChannel ch = new EmbeddedChannel(new GrpcWebUpstreamCodec(GrpcWebFilter.ON));
    FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
    resp.headers().set("content-type", "application/grpc").set("grpc-status", "5").set("grpc-message", "gone");
    ch.writeInbound(resp);
    FullHttpResponse out = ch.readInbound();
    assertThat(out.headers().get("grpc-status")).isEqualTo("5");
    assertThat(out.headers().get("content-type")).isEqualTo("application/grpc-web+proto");
    assertThat(out.content().isReadable()).isFalse();
    out.release();
    ch.finishAndReleaseAll();
  }

  @Test
  void nonGrpcAnswerBecomesAGrpcStatusWithItsBodyAsTheMessage() {
    EmbeddedChannel ch = new EmbeddedChannel(new GrpcWebUpstreamCodec(GrpcWebFilter.ON));
    HttpResponse resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SERVICE_UNAVAILABLE);
    resp.headers().set("content-type", "text/plain").set("content-length", "12");
    ch.writeInbound(resp, new DefaultHttpContent(ascii("no healthy ")));
    assertThat((Object) ch.readInbound()).as("held until the body ends").isNull();
    ch.writeInbound(new DefaultLastHttpContent(ascii("up%\n")));
    HttpResponse out = ch.readInbound();
    assertThat(out.status().code()).isEqualTo(503);
    assertThat(out.headers().get("grpc-status")).isEqualTo("14");
    assertThat(out.headers().get("grpc-message")).isEqualTo("no healthy up%25%0A");
    assertThat(out.headers().get("content-length")).isEqualTo("0");
    assertThat(out.headers().get("content-type")).isEqualTo("application/grpc-web+proto");
    assertThat(((LastHttpContent) ch.readInbound()).content().isReadable()).isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void headersOnlyNonGrpcAnswerPassesWithItsHttpStatusAsEnvoyPassesIt() {
    EmbeddedChannel ch = new EmbeddedChannel(new GrpcWebUpstreamCodec(GrpcWebFilter.ON));
    FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SERVICE_UNAVAILABLE);
    resp.headers().set("content-type", "text/plain").set("content-length", "0");
    ch.writeInbound(resp);
    FullHttpResponse out = ch.readInbound();
    assertThat(out.status().code()).isEqualTo(503);
    assertThat(out.headers().get("content-type")).isEqualTo("application/grpc-web+proto");
    assertThat(out.headers().contains("grpc-status")).as("Envoy adds none to a headers-only answer").isFalse();
    assertThat(out.headers().contains("content-length")).isFalse();
    assertThat((Object) ch.readInbound()).as("nothing held, nothing more").isNull();
    out.release();
    ch.finishAndReleaseAll();
  }

  @Test
  void httpStatusesMapAsGrpcDoes() {
    assertThat(Map.of(400, 13, 401, 16, 403, 7, 404, 12, 429, 14, 502, 14, 503, 14, 504, 14, 500, 2))
        .allSatisfy((http, grpc) -> assertThat(io.keelson.dataplane.http2.GrpcReplies.fromHttpStatus(http)).as("%d", http).isEqualTo(grpc));
  }

  @Test
  void badBase64IsAnswered400AndTheStreamClosed() {
    EmbeddedChannel ch = new EmbeddedChannel(new GrpcWebUpstreamCodec(GrpcWebFilter.ON | GrpcWebFilter.TEXT_REQUEST));
    HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/s/M");
    req.headers().set("content-type", "application/grpc-web-text");
    ch.writeOneOutbound(req);
    ch.writeOneOutbound(new DefaultLastHttpContent(ascii("QUJ"))); // the body ends mid-quad
    FullHttpResponse r = ch.readInbound();
    assertThat(r.status().code()).isEqualTo(400);
    assertThat(r.content().toString(StandardCharsets.US_ASCII)).isEqualTo(GrpcWebUpstreamCodec.BAD_BASE64);
    r.release();
    assertThat(ch.isOpen()).isFalse();
    ch.releaseInbound();
    ch.releaseOutbound();
  }

  @Test
  void filterMarksOnlyTheFourGrpcWebContentTypes() {
    assertThat(mode("application/grpc-web", null)).isEqualTo(GrpcWebFilter.ON);
    assertThat(mode("application/grpc-web+proto", "application/grpc-web-text")).isEqualTo(GrpcWebFilter.ON | GrpcWebFilter.TEXT_RESPONSE);
    assertThat(mode("application/grpc-web-text", null)).isEqualTo(GrpcWebFilter.ON | GrpcWebFilter.TEXT_REQUEST);
    assertThat(mode("application/grpc-web-text+proto", "application/grpc-web-text+proto"))
        .isEqualTo(GrpcWebFilter.ON | GrpcWebFilter.TEXT_REQUEST | GrpcWebFilter.TEXT_RESPONSE);
    assertThat(mode("application/grpc", null)).isZero();
    assertThat(mode("application/grpc-web+json", null)).isZero();
    assertThat(mode(null, null)).isZero();
  }

  private static int mode(String contentType, String accept) {
    FilterContext c = new FilterContext();
    c.head = new RequestHead() {
      @Override
      public String method() {
        return "POST";
      }

      @Override
      public String path() {
        return "/s/M";
      }

      @Override
      public String query() {
        return null;
      }

      @Override
      public String authority() {
        return "h";
      }

      @Override
      public String header(String name) {
        return name.equals("content-type") ? contentType : name.equals("accept") ? accept : null;
      }
    };
    GrpcWebFilter.INSTANCE.onRequest(c);
    return c.grpcWeb();
  }
}
