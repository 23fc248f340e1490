package io.keelson.bench.jmh;

import io.keelson.dataplane.config.HttpLimits;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Listener;
import io.keelson.dataplane.http1.codec.Http1ParseException;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.http1.codec.Http1RequestParser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Parsing one HTTP/1.1 request head per operation: Keelson's strict codec beside Netty's
 * HttpRequestDecoder in an EmbeddedChannel (the baseline), on the same bytes from a direct buffer
 * (what a socket read gives). Both run the whole exchange: bytes in, head object out, ready for the
 * next request on the same connection.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@State(Scope.Thread)
public class Http1ParseBenchmark {
  /** About 300 bytes, 5 fields: what a browser-ish API client sends. */
  static final String TYPICAL = "GET /api/v1/users/12345/profile?include=settings,avatar HTTP/1.1\r\n"
      + "Host: api.example.com\r\n"
      + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
      + "Accept: application/json\r\n"
      + "Accept-Encoding: gzip, deflate, br\r\n"
      + "Connection: keep-alive\r\n\r\n";

  /** Ten fields, about 600 bytes, with a cookie and tracing headers. */
  static final String TEN_HEADERS = "GET /api/v1/users/12345/profile?include=settings,avatar HTTP/1.1\r\n"
      + "Host: api.example.com\r\n"
      + "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
      + "Accept: application/json\r\n"
      + "Accept-Encoding: gzip, deflate, br\r\n"
      + "Accept-Language: en-GB,en;q=0.9,de;q=0.8\r\n"
      + "Cookie: session=3f9a0c1e6b7d4e2a9c8b7a6f5e4d3c2b; theme=dark; tz=Europe%2FBerlin\r\n"
      + "Referer: https://www.example.com/dashboard\r\n"
      + "X-Request-Id: 6f1c2d3e-4b5a-6978-8a9b-0c1d2e3f4a5b\r\n"
      + "Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
      + "Connection: keep-alive\r\n\r\n";

  /**
   * typical / tenHeaders repeat the same bytes (a keep-alive client asking again: the codec reuses
   * its Strings); tenHeadersNewIds alternates two requests whose X-Request-Id and traceparent
   * differ, so those values are new Strings every time.
   */
  @Param({"typical", "tenHeaders", "tenHeadersNewIds"})
  public String request;

  private ByteBuf wire;
  private ByteBuf otherWire;
  private boolean flip;
  private int length;
  private Http1RequestParser keelson;
  private final HeadSink sink = new HeadSink();
  private EmbeddedChannel netty;

  /** Keeps what the parser delivered so the JIT cannot drop the work. */
  static final class HeadSink implements Http1Listener<Http1Request> {
    Http1Request head;
    int completed;

    @Override
    public void onHead(Http1Request h) {
      head = h;
    }

    @Override
    public void onBody(ByteBuf content) {
      content.release();
    }

    @Override
    public void onComplete(Http1Headers trailers) {
      completed++;
    }

    @Override
    public void onError(Http1ParseException e) {
      throw new IllegalStateException("benchmark input rejected: " + e.reason());
    }
  }

  @Setup(Level.Trial)
  public void setUp() {
    String text = "typical".equals(request) ? TYPICAL : TEN_HEADERS;
    byte[] bytes = text.getBytes(StandardCharsets.ISO_8859_1);
    length = bytes.length;
    wire = Unpooled.directBuffer(length).writeBytes(bytes);
    String other = "tenHeadersNewIds".equals(request)
        ? text.replace("6f1c2d3e-4b5a", "7a2b3c4d-5e6f").replace("4bf92f3577b34da6", "5ca03e4688c45eb7")
        : text;
    otherWire = Unpooled.directBuffer(length).writeBytes(other.getBytes(StandardCharsets.ISO_8859_1));
    keelson = new Http1RequestParser(sink, HttpLimits.DEFAULT);
    netty = new EmbeddedChannel(new HttpRequestDecoder());
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    keelson.close();
    netty.finishAndReleaseAll();
    wire.release();
    otherWire.release();
  }

  /** The same buffer again, as if just read from the socket (the consumer releases it). */
  private ByteBuf freshWire() {
    ByteBuf b = (flip = !flip) ? otherWire : wire;
    b.retain();
    return b.setIndex(0, length);
  }

  @Benchmark
  public void keelson(Blackhole bh) {
    keelson.feed(freshWire());
    Http1Request h = sink.head;
    bh.consume(h.path());
    bh.consume(h.authority());
    bh.consume(h.keepAlive());
    keelson.resume(); // the exchange is over: ready for the next request
  }

  @Benchmark
  public void nettyHttpRequestDecoder(Blackhole bh) {
    netty.writeInbound(freshWire());
    Object msg;
    while ((msg = netty.readInbound()) != null) {
      if (msg instanceof HttpRequest r) {
        bh.consume(r.uri());
        bh.consume(r.headers().get("host"));
        bh.consume(io.netty.handler.codec.http.HttpUtil.isKeepAlive(r));
      }
      ReferenceCountUtil.release(msg);
    }
  }
}
