package io.keelson.dataplane.filter.decompressor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.dataplane.filter.BodyStage;
import io.keelson.dataplane.filter.BodyStage.BodyCodingException;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

/** The decompressor's streamed gzip reader: split headers with optional fields, trailer checks, the bomb cap. */
class GzipInflateTest {
  private final StatsRegistry stats = new StatsRegistry();
  private final DecompressorConfig config = new DecompressorConfig(new DecompressorSettings(true, false, true, 4096, 100, "gz",
      true, false), DecompressorStats.of(FilterResources.of(stats, "ingress"), "gz", "response"),
      DecompressorStats.of(FilterResources.of(stats, "ingress"), "gz", "request"));

  static byte[] gzip(byte[] data) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (GZIPOutputStream out = new GZIPOutputStream(b)) {
      out.write(data);
    }
    return b.toByteArray();
  }

  /** A member with FEXTRA, FNAME, FCOMMENT and FHCRC set (GZIPOutputStream writes none of them). */
  static byte[] withOptionalFields(byte[] plain) {
    byte[] extra = {0x1f, (byte) 0x8b, 8, 2 | 4 | 8 | 16, 0, 0, 0, 0, 0, 3, 3, 0, 'a', 'b', 'c', 'n', 'a', 'm', 'e', 0,
        'c', 0, 0x12, 0x34};
    byte[] out = new byte[extra.length + plain.length - 10];
    System.arraycopy(extra, 0, out, 0, extra.length);
    System.arraycopy(plain, 10, out, extra.length, plain.length - 10);
    return out;
  }

  private String inflate(byte[] body, int step) {
    BodyStage stage = new GzipInflate(config, config.stats());
    StringBuilder text = new StringBuilder();
    int i = 0;
    do { // at least once: an empty body still ends
      boolean last = i + step >= body.length;
      ByteBuf out = stage.apply(Unpooled.copiedBuffer(body, i, Math.min(step, body.length - i)), last, ByteBufAllocator.DEFAULT);
      text.append(out.toString(StandardCharsets.UTF_8));
      out.release();
      i += step;
    } while (i < body.length);
    return text.toString();
  }

  @Test
  void inflatesWhateverWayTheBodyIsSplit() throws Exception {
    StringBuilder items = new StringBuilder("{\"items\":[");
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 2000; i++) {
      items.append("{\"id\":").append(i).append(",\"price\":").append(random.nextInt(100_000)).append("},");
    }
    String json = items.append("{}]}").toString();
    byte[] body = gzip(json.getBytes(StandardCharsets.UTF_8));
    assertThat(inflate(body, body.length)).isEqualTo(json);
    assertThat(inflate(body, 1)).isEqualTo(json);
    assertThat(inflate(body, 7)).isEqualTo(json);
    assertThat(inflate(withOptionalFields(body), 1)).isEqualTo(json);
    assertThat(inflate(withOptionalFields(body), 3000)).isEqualTo(json);
    assertThat(inflate(new byte[0], 1)).isEmpty(); // an empty body labelled gzip passes as it is
  }

  @Test
  void refusesABodyThatIsNotGzipOrIsCutOrCorrupt() throws Exception {
    byte[] body = gzip("hello, hello, hello, hello".getBytes(StandardCharsets.UTF_8));
    assertThatThrownBy(() -> inflate("plain text, not gzip".getBytes(StandardCharsets.UTF_8), 100))
        .isInstanceOf(BodyCodingException.class).hasMessageContaining("not a gzip body");
    assertThatThrownBy(() -> inflate(java.util.Arrays.copyOf(body, body.length - 3), 100))
        .isInstanceOf(BodyCodingException.class).hasMessageContaining("before its trailer");
    byte[] badCrc = body.clone();
    badCrc[badCrc.length - 6] ^= 1;
    assertThatThrownBy(() -> inflate(badCrc, 100)).isInstanceOf(BodyCodingException.class).hasMessageContaining("trailer");
    assertThat(stats.counter("http.ingress.decompressor.gz.gzip.response.decompression_error").sum()).isEqualTo(3);
  }

  @Test
  void aDecompressionBombIsRefusedBeforeItsOutputGrowsPastTheRatio() throws Exception {
    byte[] bomb = gzip(new byte[50 << 20]); // 50 MiB of zeros: about 50 KiB of gzip, a ratio near 1000
    assertThat(bomb.length).isLessThan(100_000);
    BodyStage stage = new GzipInflate(config, config.stats());
    long out = 0;
    int fed = 0;
    try {
      for (; fed < bomb.length; fed += 4096) {
        ByteBuf o = stage.apply(Unpooled.copiedBuffer(bomb, fed, Math.min(4096, bomb.length - fed)), false, ByteBufAllocator.DEFAULT);
        out += o.readableBytes();
        o.release();
      }
      throw new AssertionError("inflated the whole bomb: " + out + " bytes");
    } catch (BodyCodingException e) {
      assertThat(e).hasMessageContaining("max_inflate_ratio 100");
    }
    assertThat(out).isLessThanOrEqualTo(100L * (fed + 4096));
    stage.release(); // released already: idempotent
  }
}
