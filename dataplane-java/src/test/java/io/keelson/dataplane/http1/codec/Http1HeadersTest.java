package io.keelson.dataplane.http1.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The header list: case-insensitive lookups, order, mutation, validation and encoding. */
class Http1HeadersTest {

  @Test
  void looksUpNamesCaseInsensitivelyAndKeepsTheirCase() {
    Http1Headers h = new Http1Headers(1);
    h.add("Content-Type", "text/plain").add("X-Forwarded-For", "1.1.1.1").add("x-forwarded-for", "2.2.2.2");
    assertThat(h.get("content-type")).isEqualTo("text/plain");
    assertThat(h.get("x-forwarded-for")).isEqualTo("1.1.1.1");
    assertThat(h.getAll("x-forwarded-for")).isEqualTo("1.1.1.1,2.2.2.2");
    assertThat(h.contains("content-type")).isTrue();
    assertThat(h.contains("content")).isFalse();
    assertThat(h.count("x-forwarded-for")).isEqualTo(2);
    assertThat(h.name(0)).isEqualTo("Content-Type");
    assertThat(h.size()).isEqualTo(3);
  }

  @Test
  void setReplacesAllFieldsAtThePositionOfTheFirst() {
    Http1Headers h = new Http1Headers();
    h.add("A", "1").add("Via", "x").add("B", "2").add("via", "y");
    h.set("VIA", "z");
    assertThat(h.toString()).isEqualTo("[A: 1, VIA: z, B: 2]");
    h.set("C", "3");
    assertThat(h.toString()).isEqualTo("[A: 1, VIA: z, B: 2, C: 3]");
  }

  @Test
  void removeReturnsHowManyFieldsWentAndKeepsOrder() {
    Http1Headers h = new Http1Headers();
    h.add("Connection", "close").add("A", "1").add("connection", "x").add("B", "2");
    assertThat(h.remove("connection")).isEqualTo(2);
    assertThat(h.remove("connection")).isZero();
    assertThat(h.toString()).isEqualTo("[A: 1, B: 2]");
    h.removeAt(0);
    assertThat(h.toString()).isEqualTo("[B: 2]");
  }

  @Test
  void containsTokenMatchesCommaSeparatedElements() {
    Http1Headers h = new Http1Headers();
    h.add("Connection", "keep-alive , Upgrade").add("Connection", "X-Custom");
    assertThat(h.containsToken("connection", "upgrade")).isTrue();
    assertThat(h.containsToken("connection", "x-custom")).isTrue();
    assertThat(h.containsToken("connection", "keep")).isFalse();
    assertThat(h.containsToken("connection", "close")).isFalse();
  }

  @Test
  void refusesFieldsThatCouldInjectLines() {
    Http1Headers h = new Http1Headers();
    assertThatThrownBy(() -> h.add("X-A", "v\r\nInjected: 1")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> h.add("X A", "v")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> h.add("", "v")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> h.set("X-A", "\u0100")).isInstanceOf(IllegalArgumentException.class);
    assertThat(h.size()).isZero();
  }

  @Test
  void clearEmptiesForReuse() {
    Http1Headers h = new Http1Headers();
    for (int i = 0; i < 40; i++) {
      h.add("X-" + i, "v");
    }
    h.clear();
    assertThat(h.size()).isZero();
    assertThat(h.get("x-1")).isNull();
    h.add("A", "b");
    assertThat(h.value(0)).isEqualTo("b");
    assertThatThrownBy(() -> h.name(1)).isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void encodesEveryFieldAsLatin1Lines() {
    Http1Headers h = new Http1Headers();
    h.add("Host", "a").add("X-Name", "Jos\u00e9");
    ByteBuf out = Unpooled.buffer();
    h.encodeTo(out);
    assertThat(out.toString(StandardCharsets.ISO_8859_1)).isEqualTo("Host: a\r\nX-Name: Jos\u00e9\r\n");
    assertThat(out.getByte(out.writerIndex() - 3)).isEqualTo((byte) 0xe9);
    out.release();
  }

  @Test
  void aLatin1FieldReplacesTheNamedFieldsAndIsEncodedLastFromTheCallersBytes() {
    Http1Headers h = new Http1Headers();
    h.add("Host", "a").add("Traceparent", "old-1").add("X-B", "b").add("traceparent", "old-2");
    byte[] value = "00-abc-01".getBytes(StandardCharsets.ISO_8859_1);
    h.setLatin1("traceparent", value, 6);
    assertThat(h.get("traceparent")).isEqualTo("00-abc");
    assertThat(h.contains("traceparent")).isTrue();
    assertThat(h.count("traceparent")).isEqualTo(1);
    ByteBuf out = Unpooled.buffer();
    h.encodeTo(out);
    assertThat(out.toString(StandardCharsets.ISO_8859_1)).isEqualTo("Host: a\r\nX-B: b\r\ntraceparent: 00-abc\r\n");
    out.release();

    Http1Headers copy = new Http1Headers();
    copy.copyFrom(h);
    value[3] = 'x'; // the copy no longer depends on the caller's array
    assertThat(copy.get("traceparent")).isEqualTo("00-abc");
    assertThat(h.get("traceparent")).isEqualTo("00-xbc");

    h.set("TraceParent", "s");
    assertThat(h.getAll("traceparent")).isEqualTo("s");
    h.setLatin1("traceparent", value, 6);
    assertThat(h.remove("traceparent")).isEqualTo(1);
    assertThat(h.get("traceparent")).isNull();
    h.setLatin1("traceparent", value, 6);
    h.clear();
    assertThat(h.isEmpty()).isTrue();
    assertThat(h.get("traceparent")).isNull();
    assertThatThrownBy(() -> h.setLatin1("traceparent", "a\r\nb".getBytes(StandardCharsets.ISO_8859_1), 4))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
