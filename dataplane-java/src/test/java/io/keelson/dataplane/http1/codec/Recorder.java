package io.keelson.dataplane.http1.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * Records what a parser delivers (heads copied, body bytes concatenated per message, trailers,
 * errors) as an event list, releases every body buffer it gets, and tracks every buffer fed so a
 * test can assert that all of them were released (refCnt 0).
 */
final class Recorder<H> implements Http1Listener<H> {
  /**
   * A pool of the parser tests' own, without thread caches, so that its live-allocation count is
   * exact: any buffer the parser allocated (cumulation) and did not free shows up in
   * assertAllReleased as a count above the one this recorder started with. One pool for all
   * recorders: a pool per recorder stays reachable from the test thread's thread-local map, and
   * thousands of them filled the test JVM's heap.
   */
  private static final PooledByteBufAllocator POOL = new PooledByteBufAllocator(false, 1, 1, 4096, 4, 0, 0, false);
  final PooledByteBufAllocator alloc = POOL;
  private final long liveAtStart = liveAllocations();
  static final ByteBufAllocator DIRECT = new UnpooledByteBufAllocator(true);

  final List<String> events = new ArrayList<>();
  final List<H> heads = new ArrayList<>();
  final List<String> bodies = new ArrayList<>();
  final List<Http1Headers> trailers = new ArrayList<>();
  final List<Integer> bodyPieces = new ArrayList<>();
  Http1ParseException error;
  boolean resumeOnComplete;
  Consumer<H> onHeadHook = h -> {};
  Http1MessageParser<H> parser;

  private final UnaryOperator<H> copier;
  private final List<ByteBuf> fed = new ArrayList<>();
  private ByteArrayOutputStream body = new ByteArrayOutputStream();

  Recorder(UnaryOperator<H> copier) {
    this.copier = copier;
  }

  static Recorder<Http1Request> requests() {
    return new Recorder<>(Http1Request::copy);
  }

  static Recorder<Http1Response> responses() {
    return new Recorder<>(Http1Response::copy);
  }

  @Override
  public void onHead(H head) {
    events.add("head");
    heads.add(copier.apply(head));
    onHeadHook.accept(head);
  }

  @Override
  public void onBody(ByteBuf content) {
    try {
      bodyPieces.add(content.readableBytes());
      byte[] b = new byte[content.readableBytes()];
      content.readBytes(b);
      body.writeBytes(b);
      if (events.isEmpty() || !events.getLast().equals("body")) {
        events.add("body");
      }
    } finally {
      content.release();
    }
  }

  @Override
  public void onComplete(Http1Headers t) {
    events.add("complete");
    bodies.add(body.toString(StandardCharsets.ISO_8859_1));
    body = new ByteArrayOutputStream();
    Http1Headers copy = new Http1Headers();
    copy.copyFrom(t);
    trailers.add(copy);
    if (resumeOnComplete) {
      parser.resume();
    }
  }

  @Override
  public void onError(Http1ParseException e) {
    events.add("error");
    error = e;
  }

  /** Body bytes received since the last complete. */
  String pendingBody() {
    return body.toString(StandardCharsets.ISO_8859_1);
  }

  ByteBuf buf(String s) {
    return buf(s.getBytes(StandardCharsets.ISO_8859_1), alloc);
  }

  ByteBuf buf(byte[] bytes, ByteBufAllocator alloc) {
    ByteBuf b = alloc.buffer(bytes.length);
    b.writeBytes(bytes);
    fed.add(b);
    return b;
  }

  void feed(String s) {
    parser.feed(buf(s));
  }

  /** Feeds s in pieces of the given sizes (the last piece takes the rest). */
  void feedSplit(byte[] s, int... sizes) {
    int pos = 0;
    for (int size : sizes) {
      int n = Math.min(size, s.length - pos);
      parser.feed(buf(java.util.Arrays.copyOfRange(s, pos, pos + n), alloc));
      pos += n;
    }
    if (pos < s.length) {
      parser.feed(buf(java.util.Arrays.copyOfRange(s, pos, s.length), alloc));
    }
  }

  /** Closes the parser and asserts every buffer fed so far was released. */
  void assertAllReleased() {
    parser.close();
    for (ByteBuf b : fed) {
      assertThat(b.refCnt()).as("refCnt of a fed buffer").isZero();
    }
    assertThat(liveAllocations() - liveAtStart).as("buffers still allocated from the test's pool").isZero();
  }

  static Recorder<Http1Request> requestParser(io.keelson.dataplane.config.HttpLimits limits) {
    Recorder<Http1Request> r = requests();
    r.parser = new Http1RequestParser(r, limits);
    return r;
  }

  static Recorder<Http1Request> requestParser() {
    return requestParser(io.keelson.dataplane.config.HttpLimits.DEFAULT);
  }

  static Recorder<Http1Response> responseParser() {
    Recorder<Http1Response> r = responses();
    r.parser = new Http1ResponseParser(r);
    return r;
  }

  Http1ResponseParser responseParserOf() {
    return (Http1ResponseParser) parser;
  }

  private static long liveAllocations() {
    long live = 0;
    for (var arena : POOL.metric().heapArenas()) {
      live += arena.numActiveAllocations();
    }
    for (var arena : POOL.metric().directArenas()) {
      live += arena.numActiveAllocations();
    }
    return live;
  }
}
