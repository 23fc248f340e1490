package io.keelson.dataplane.filter.compressor;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.edge.HeaderAccess;
import io.keelson.dataplane.filter.BodyStage;
import io.keelson.dataplane.filter.FilterResources;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.zip.Deflater;
import java.util.zip.GZIPInputStream;
import java.util.zip.Inflater;
import org.junit.jupiter.api.Test;

/** The compressor's response decision (every skip condition) and its gzip stream, decoded by the JDK's own reader. */
class GzipResponseCodingTest {
  private static final HeaderAccess<HttpHeaders> NETTY = io.keelson.dataplane.http2.NettyHeaderAccess.INSTANCE;

  private final StatsRegistry stats = new StatsRegistry();

  private CompressorConfig config(boolean disableOnEtag, Set<Integer> uncompressible) {
    CompressorSettings s = new CompressorSettings(true, 30, CompressorSettings.DEFAULT_CONTENT_TYPES, disableOnEtag, false,
        uncompressible, Deflater.DEFAULT_COMPRESSION, Deflater.DEFAULT_STRATEGY, 4096, "gz", true, null);
    return new CompressorConfig(s, CompressorStats.of(FilterResources.of(stats, "ingress"), "gz", true));
  }

  private long stat(String name) {
    return stats.counter("http.ingress.compressor.gz.gzip.response." + name).sum();
  }

  private static HttpHeaders json(long length) {
    HttpHeaders h = new DefaultHttpHeaders().set("content-type", "application/json; charset=utf-8");
    if (length >= 0) {
      h.set("content-length", Long.toString(length));
    }
    return h;
  }

  private BodyStage decide(CompressorConfig c, int decision, HttpHeaders h, int status) {
    return new GzipResponseCoding(c, decision).onResponseHead(NETTY, h, status);
  }

  @Test
  void compressesAndRewritesTheHeadersAsEnvoy() throws Exception {
    HttpHeaders h = json(1000).set("etag", "\"v1\"").set("vary", "origin");
    BodyStage stage = decide(config(false, Set.of()), AcceptEncoding.GZIP, h, 200);
    assertThat(stage).isNotNull();
    assertThat(h.get("content-encoding")).isEqualTo("gzip");
    assertThat(h.contains("content-length")).isFalse();
    assertThat(h.get("vary")).isEqualTo("origin, Accept-Encoding");
    assertThat(h.get("etag")).isEqualTo("W/\"v1\"");
    stage.release();
    assertThat(stat("compressed")).isEqualTo(1);
    assertThat(stat("header_compressor_used")).isEqualTo(1);
  }

  @Test
  void everySkipConditionLeavesTheResponseAlone() {
    CompressorConfig c = config(true, Set.of(206));
    assertThat(decide(c, AcceptEncoding.GZIP, json(29), 200)).isNull(); // under min_content_length (30)
    assertThat(stat("content_length_too_small")).isEqualTo(1);
    assertThat(decide(c, AcceptEncoding.GZIP, json(100).set("content-type", "image/png"), 200)).isNull();
    assertThat(decide(c, AcceptEncoding.GZIP, json(100).set("cache-control", "public, No-Transform"), 200)).isNull();
    assertThat(decide(c, AcceptEncoding.GZIP, json(100).set("content-encoding", "br"), 200)).isNull();
    assertThat(decide(c, AcceptEncoding.GZIP, json(100).set("etag", "W/\"x\""), 200)).isNull();
    assertThat(stat("not_compressed_etag")).isEqualTo(1);
    assertThat(decide(c, AcceptEncoding.GZIP, json(100), 206)).isNull(); // uncompressible_response_codes
    assertThat(decide(c, AcceptEncoding.GZIP, json(-1).set("transfer-encoding", "gzip, chunked"), 200)).isNull();
    HttpHeaders identity = json(100);
    assertThat(decide(c, AcceptEncoding.IDENTITY, identity, 200)).isNull();
    // Compressible but for the request's accept-encoding: vary tells caches the answer depends on it (Envoy).
    assertThat(identity.get("vary")).isEqualTo("Accept-Encoding");
    assertThat(identity.get("content-length")).isEqualTo("100");
    assertThat(decide(c, AcceptEncoding.NO_HEADER, json(100), 200)).isNull();
    assertThat(decide(c, AcceptEncoding.NOT_VALID, json(100), 200)).isNull();
    assertThat(stat("not_compressed")).isEqualTo(10);
    assertThat(stat("compressed")).isZero();
    assertThat(stat("header_identity")).isEqualTo(1);
    assertThat(stat("no_accept_header")).isEqualTo(1);
    assertThat(stat("header_not_valid")).isEqualTo(1);
  }

  @Test
  void anUnknownLengthIsCompressedAndAMissingContentTypeIsAllowed() {
    HttpHeaders h = new DefaultHttpHeaders(); // HTTP/2 without content-length, no content-type
    BodyStage stage = decide(config(false, Set.of()), AcceptEncoding.WILDCARD, h, 200);
    assertThat(stage).isNotNull();
    stage.release();
    assertThat(stat("header_wildcard")).isEqualTo(1);
  }

  @Test
  void gzipStreamDecodesToTheSameBytesAndEachChunkIsFlushedForTheClient() throws Exception {
    BodyStage stage = decide(config(false, Set.of()), AcceptEncoding.GZIP, json(-1), 200);
    StringBuilder text = new StringBuilder();
    ByteArrayOutputStream wire = new ByteArrayOutputStream();
    Inflater client = new Inflater(true);
    byte[] room = new byte[1 << 20];
    for (int i = 0; i < 50; i++) {
      String part = "{\"chunk\":" + i + ",\"pad\":\"" + "x".repeat(i * 37) + "\"}\n";
      text.append(part);
      ByteBuf out = stage.apply(Unpooled.copiedBuffer(part, StandardCharsets.UTF_8), false, ByteBufAllocator.DEFAULT);
      byte[] bytes = new byte[out.readableBytes()];
      out.readBytes(bytes);
      out.release();
      wire.write(bytes);
      // Streaming: what was sent so far inflates to everything given so far (SYNC_FLUSH), header skipped.
      client.setInput(i == 0 ? java.util.Arrays.copyOfRange(bytes, 10, bytes.length) : bytes);
      int n = client.inflate(room);
      assertThat(new String(room, 0, n, StandardCharsets.UTF_8)).isEqualTo(part);
    }
    ByteBuf tail = stage.apply(Unpooled.EMPTY_BUFFER, true, ByteBufAllocator.DEFAULT);
    byte[] bytes = new byte[tail.readableBytes()];
    tail.readBytes(bytes);
    tail.release();
    wire.write(bytes);
    client.end();
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(wire.toByteArray()))) {
      assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo(text.toString());
    }
    assertThat(stat("total_uncompressed_bytes")).isEqualTo(text.length());
    assertThat(stat("total_compressed_bytes")).isEqualTo(wire.size());
    assertThat(wire.size()).isLessThan(text.length() / 4);
  }

  @Test
  void deflatersAreReusedAndTheIdlePoolIsBounded() {
    CompressorConfig c = config(false, Set.of());
    BodyStage[] open = new BodyStage[GzipDeflate.DEFLATERS.maxIdle() + 10];
    for (int i = 0; i < open.length; i++) {
      open[i] = decide(c, AcceptEncoding.GZIP, json(100), 200);
    }
    for (BodyStage s : open) {
      s.release();
      s.release(); // idempotent
    }
    assertThat(GzipDeflate.DEFLATERS.idle()).isEqualTo(GzipDeflate.DEFLATERS.maxIdle());
    BodyStage again = decide(c, AcceptEncoding.GZIP, json(100), 200);
    assertThat(GzipDeflate.DEFLATERS.idle()).isEqualTo(GzipDeflate.DEFLATERS.maxIdle() - 1);
    again.apply(Unpooled.copiedBuffer("reused deflater, fresh stream", StandardCharsets.UTF_8), true, ByteBufAllocator.DEFAULT)
        .release();
    assertThat(GzipDeflate.DEFLATERS.idle()).isEqualTo(GzipDeflate.DEFLATERS.maxIdle());
  }
}
