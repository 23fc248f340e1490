package io.keelson.dataplane.intercept;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class HttpRequestPrefaceTest {
  /** The verdict for {@code s} in one read; also checks that it is the same when the bytes come one at a time. */
  private static String detect(String s) {
    ByteBuf b = Unpooled.copiedBuffer(s, StandardCharsets.ISO_8859_1);
    try {
      int before = b.readerIndex();
      String found = new HttpRequestPreface().scan(b);
      assertThat(b.readerIndex()).isEqualTo(before); // peeked, not consumed
      assertThat(byteByByte(s).verdict()).as("one byte at a time: %s", s).isEqualTo(found);
      return found;
    } finally {
      b.release();
    }
  }

  /**
   * What the inspector sees when each read brings one more byte: the verdict, and the bytes it read for it, counted
   * by the buffer itself (every {@code getByte}), so a rescan of earlier bytes would show.
   */
  private record Fed(String verdict, int examined) {}

  /** A cumulation buffer that counts the single-byte reads made of it. */
  private static final class CountingBuf extends io.netty.buffer.WrappedByteBuf {
    int reads;

    CountingBuf(ByteBuf b) {
      super(b);
    }

    @Override
    public byte getByte(int index) {
      reads++;
      return super.getByte(index);
    }
  }

  private static Fed byteByByte(String s) {
    byte[] bytes = s.getBytes(StandardCharsets.ISO_8859_1);
    CountingBuf cumulation = new CountingBuf(Unpooled.buffer());
    try {
      HttpRequestPreface p = new HttpRequestPreface();
      String found = HttpRequestPreface.NEED_MORE;
      for (int i = 0; i < bytes.length && found == HttpRequestPreface.NEED_MORE; i++) {
        cumulation.writeByte(bytes[i]);
        found = p.scan(cumulation);
      }
      assertThat(cumulation.reads).as("byte reads made of the buffer").isLessThanOrEqualTo(p.examined());
      return new Fed(found, cumulation.reads);
    } finally {
      cumulation.release();
    }
  }

  @Test
  void bytesArrivingOneAtATimeAreEachExaminedOnce() {
    // The finding: a client sending 1 byte per segment up to 8 KiB cost a rescan per byte (~33M byte reads).
    Fed slow = byteByByte("GET /" + "a".repeat(HttpRequestPreface.MAX_INSPECT_BYTES));
    assertThat(slow.verdict()).isEmpty(); // no request line within the bound
    assertThat(slow.examined()).isEqualTo(HttpRequestPreface.MAX_INSPECT_BYTES);
    Fed h1 = byteByByte("GET /" + "a".repeat(5000) + " HTTP/1.1\r\n");
    assertThat(h1.verdict()).isEqualTo("http/1.1");
    assertThat(h1.examined()).isEqualTo(5000 + 16);
    Fed h2 = byteByByte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\nmore");
    assertThat(h2.verdict()).isEqualTo("h2c");
    assertThat(h2.examined()).isEqualTo(24);
  }

  @Test
  void aSplitH2PrefaceThatTurnsOutNotToBeOneIsNone() {
    assertThat(detect("PRI * HTTP/2.0\r\n\r\nXX")).isEmpty();
    assertThat(detect("PRI / HTTP/1.1\r\n")).isEqualTo("http/1.1"); // parts ways with the preface at '/'
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
