package io.keelson.dataplane.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** An admin endpoint that throws answers 500 with the reason, instead of leaving the caller waiting. */
class AdminHandlerErrorTest {

  @Test
  void anEndpointThatThrowsAnswers500AndTheConnectionServesOn() {
    EmbeddedChannel ch = new EmbeddedChannel(new AdminHandler(null)); // every endpoint that reads the proxy throws
    ch.writeInbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/ready"));
    FullHttpResponse failed = ch.readOutbound();
    assertThat(failed.status().code()).isEqualTo(500);
    assertThat(failed.content().toString(StandardCharsets.UTF_8)).contains("admin endpoint /ready failed");
    failed.release();

    ch.writeInbound(new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/nope"));
    FullHttpResponse notFound = ch.readOutbound();
    assertThat(notFound.status().code()).isEqualTo(404);
    notFound.release();
    assertThat(ch.isOpen()).isTrue();
    ch.finishAndReleaseAll();
  }

  @Test
  void aConnectionErrorClosesTheConnection() {
    EmbeddedChannel ch = new EmbeddedChannel(new AdminHandler(null));
    ch.pipeline().fireExceptionCaught(new IllegalStateException("reset by peer"));
    assertThat(ch.isOpen()).isFalse();
  }
}
