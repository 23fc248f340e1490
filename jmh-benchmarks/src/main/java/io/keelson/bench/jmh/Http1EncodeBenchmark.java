package io.keelson.bench.jmh;

import io.keelson.dataplane.config.HttpLimits;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.http1.codec.Http1RequestParser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Encoding one parsed request head for the upstream into a direct buffer (what the proxy does per
 * request), beside the baseline of writing each String with {@code ByteBuf.writeCharSequence}
 * (Latin-1), which a direct buffer takes char by char.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@State(Scope.Thread)
public class Http1EncodeBenchmark {
  @Param({"typical", "tenHeaders"})
  public String request;

  private Http1Request head;
  private ByteBuf out;

  @Setup
  public void setUp() {
    String raw = request.equals("typical") ? Http1ParseBenchmark.TYPICAL : Http1ParseBenchmark.TEN_HEADERS;
    Http1ParseBenchmark.HeadSink sink = new Http1ParseBenchmark.HeadSink();
    Http1RequestParser parser = new Http1RequestParser(sink, HttpLimits.DEFAULT);
    parser.feed(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
    head = sink.head.copy();
    out = ByteBufAllocator.DEFAULT.directBuffer(4096);
  }

  @TearDown
  public void tearDown() {
    out.release();
  }

  @Benchmark
  public int keelson() {
    out.clear();
    head.encodeTo(out);
    return out.writerIndex();
  }

  @Benchmark
  public int writeCharSequence() {
    out.clear();
    out.writeCharSequence(head.method(), StandardCharsets.ISO_8859_1);
    out.writeByte(' ');
    out.writeCharSequence(head.uri(), StandardCharsets.ISO_8859_1);
    out.writeCharSequence(" HTTP/1.1\r\n", StandardCharsets.ISO_8859_1);
    Http1Headers h = head.headers();
    for (int i = 0; i < h.size(); i++) {
      out.writeCharSequence(h.name(i), StandardCharsets.ISO_8859_1);
      out.writeShort((':' << 8) | ' ');
      out.writeCharSequence(h.value(i), StandardCharsets.ISO_8859_1);
      out.writeShort(('\r' << 8) | '\n');
    }
    out.writeShort(('\r' << 8) | '\n');
    return out.writerIndex();
  }
}
