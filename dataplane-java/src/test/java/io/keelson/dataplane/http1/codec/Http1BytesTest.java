package io.keelson.dataplane.http1.codec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** The word-at-a-time scanners agree with the obvious byte loops on every byte value and position. */
class Http1BytesTest {

  @Test
  void findCrOrLfAgreesWithAByteLoop() {
    Random random = new Random(7);
    for (int round = 0; round < 20_000; round++) {
      byte[] b = new byte[1 + random.nextInt(40)];
      for (int i = 0; i < b.length; i++) {
        // mostly printable bytes, sometimes anything (CR, LF, high bytes, 0x8D, 0x0D + borrow cases)
        b[i] = (byte) (random.nextInt(8) == 0 ? random.nextInt(256) : 0x20 + random.nextInt(0x5f));
      }
      int from = random.nextInt(b.length);
      int to = from + random.nextInt(b.length - from + 1);
      int expected = to;
      for (int i = from; i < to; i++) {
        if (b[i] == '\r' || b[i] == '\n') {
          expected = i;
          break;
        }
      }
      assertThat(Http1Bytes.findCrOrLf(b, from, to)).as("round %d", round).isEqualTo(expected);
    }
  }

  @Test
  void firstNonFieldCharAgreesWithAByteLoop() {
    Random random = new Random(11);
    for (int round = 0; round < 20_000; round++) {
      byte[] b = new byte[1 + random.nextInt(40)];
      for (int i = 0; i < b.length; i++) {
        b[i] = (byte) (random.nextInt(16) == 0 ? random.nextInt(256) : 0x20 + random.nextInt(0x5f));
      }
      int from = random.nextInt(b.length);
      int to = from + random.nextInt(b.length - from + 1);
      int expected = to;
      for (int i = from; i < to; i++) {
        int v = b[i] & 0xff;
        if ((v < 0x20 && v != '\t') || v == 0x7f) {
          expected = i;
          break;
        }
      }
      assertThat(Http1Bytes.firstNonFieldChar(b, from, to)).as("round %d", round).isEqualTo(expected);
    }
  }

  @Test
  void everyByteValueIsClassifiedLikeRfc9110() {
    for (int v = 0; v < 256; v++) {
      byte b = (byte) v;
      boolean field = v == '\t' || (v >= 0x20 && v != 0x7f);
      assertThat(Http1Bytes.isFieldChar(b)).as("field char 0x%02x", v).isEqualTo(field);
      boolean tchar = (v >= '0' && v <= '9') || (v >= 'a' && v <= 'z') || (v >= 'A' && v <= 'Z')
          || "!#$%&'*+-.^_`|~".indexOf(v) >= 0;
      assertThat(Http1Bytes.isTchar(b)).as("tchar 0x%02x", v).isEqualTo(tchar);
    }
  }
}
