package io.keelson.dataplane.intercept;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HttpRequestPrefaceTest {
  private static String detect(String s) {
    ByteBuf b = Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    try {
      int before = b.readerIndex();
      String found = HttpRequestPreface.detect(b);
      assertThat(b.readerIndex()).isEqualTo(before); // peeked, not consumed
      return found;
    } finally {
      b.release();
    }
  }

  @Test
  void requestLinesShowTheirVersion() {
    assertThat(detect("GET / HTTP/1.1\r\nhost: a\r\n\r\n")).isEqualTo("http/1.1");
    assertThat(detect("POST /x?y=1 HTTP/1.0\r\n")).isEqualTo("http/1.0");
    assertThat(detect("GET / HTTP/1.1\n")).isEqualTo("http/1.1");
    assertThat(detect("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")).isEqualTo("h2c");
  }

  @Test
  void incompleteHttpAsksForMoreAndAnythingElseIsNone() {
    assertThat(detect("GE")).isNull();
    assertThat(detect("GET /pa")).isNull();
    assertThat(detect("GET / HTTP/1.1\r")).isNull();
    assertThat(detect("PRI * HTTP/2.0\r\n")).isNull();
    assertThat(detect("\u0000\u0001binary")).isEmpty();
    assertThat(detect("SSH-2.0-OpenSSH\r\n")).isEmpty(); // no space after a method-like token
    assertThat(detect("GET / HTTP/2.0\r\n")).isEmpty();
    assertThat(detect("GET  / HTTP/1.1\r\n")).isEmpty();
    assertThat(detect("\u0016\u0003\u0001")).isEmpty(); // a TLS ClientHello
    assertThat(detect("GET /" + "a".repeat(HttpRequestPreface.MAX_INSPECT_BYTES))).isEmpty(); // bounded
  }
}
