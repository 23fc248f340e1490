package io.keelson.dataplane.filter.grpcweb;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Base64 over chunked bodies: every split of the input decodes to the same bytes; bad input is refused. */
class Base64ChunksTest {
  private static final ByteBufAllocator ALLOC = ByteBufAllocator.DEFAULT;

  private static byte[] decodeInChunks(byte[] text, int... cuts) {
    Base64Chunks d = new Base64Chunks();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int at = 0;
    for (int i = 0; i <= cuts.length; i++) {
      int end = i < cuts.length ? cuts[i] : text.length;
      ByteBuf in = Unpooled.wrappedBuffer(text, at, end - at);
      ByteBuf decoded = d.decode(in, ALLOC);
      if (in.isReadable()) { // plain checks: AssertJ per split made this test take seconds
        throw new AssertionError("input left unread after a chunk ending at " + end);
      }
      byte[] b = new byte[decoded.readableBytes()];
      decoded.readBytes(b);
      decoded.release();
      out.writeBytes(b);
      at = end;
    }
    if (!d.atQuadBoundary()) {
      throw new AssertionError("not at a quad boundary after the whole body");
    }
    return out.toByteArray();
  }

  @Test
  void everySplitOfTheBodyDecodesToTheSameBytes() {
    Random random = new Random(7);
    for (int len = 0; len < 40; len++) {
      byte[] plain = new byte[len];
      random.nextBytes(plain);
      byte[] text = Base64.getEncoder().encode(plain);
      for (int a = 0; a <= text.length; a++) {
        for (int b = a; b <= text.length; b++) {
          byte[] decoded = decodeInChunks(text, a, b);
          if (!java.util.Arrays.equals(decoded, plain)) {
            assertThat(decoded).as("len %d cut at %d and %d", len, a, b).isEqualTo(plain);
          }
        }
      }
    }
  }

  @Test
  void paddedSegmentsMayFollowEachOther() {
    byte[] text = (Base64.getEncoder().encodeToString("ab".getBytes()) + Base64.getEncoder().encodeToString("c".getBytes()))
        .getBytes(StandardCharsets.US_ASCII);
    assertThat(new String(decodeInChunks(text, 5), StandardCharsets.US_ASCII)).isEqualTo("abc");
  }

  @Test
  void refusesBytesOutsideTheAlphabetAndMisplacedPadding() {
    for (String bad : new String[] {"AB*D", "A=AA", "AB=A", "AB\r\nCD", "=AAA"}) {
      Base64Chunks d = new Base64Chunks();
      assertThatThrownBy(() -> d.decode(Unpooled.copiedBuffer(bad, StandardCharsets.US_ASCII), ALLOC))
          .as(bad).isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void aBodyCutShortIsNotAtAQuadBoundary() {
    Base64Chunks d = new Base64Chunks();
    d.decode(Unpooled.copiedBuffer("QUJD" + "QU", StandardCharsets.US_ASCII), ALLOC).release();
    assertThat(d.atQuadBoundary()).isFalse();
  }

  @Test
  void encodesEachChunkAsWholePaddedQuads() {
    Random random = new Random(3);
    for (int len = 0; len < 20; len++) {
      byte[] plain = new byte[len];
      random.nextBytes(plain);
      ByteBuf out = Base64Chunks.encode(Unpooled.wrappedBuffer(plain), ALLOC);
      assertThat(out.toString(StandardCharsets.US_ASCII)).isEqualTo(Base64.getEncoder().encodeToString(plain));
      out.release();
    }
  }
}
