package io.keelson.dataplane.http2;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersEncoder;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;

/**
 * An HTTP/2 peer that writes hand-built frames over a plain socket, for attacking the proxy; a reader
 * thread records every frame it gets back (and never returns window). Not thread-safe for writers.
 */
final class RawH2 implements AutoCloseable {
  static final int DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8, CONTINUATION = 9;
  static final int END_STREAM = 1, END_HEADERS = 4;
  static final long PROTOCOL_ERROR = 1, FLOW_CONTROL_ERROR = 3, REFUSED_STREAM = 7, CANCEL = 8, ENHANCE_YOUR_CALM = 11;

  record Frame(int type, int flags, int stream, byte[] payload) {
    long errorCode() {
      int at = type == GOAWAY ? 4 : 0;
      return ((payload[at] & 0xffL) << 24) | ((payload[at + 1] & 0xff) << 16) | ((payload[at + 2] & 0xff) << 8) | (payload[at + 3] & 0xff);
    }
  }

  final List<Frame> frames = new CopyOnWriteArrayList<>();
  final AtomicLong dataBytes = new AtomicLong();
  volatile boolean closedByPeer;
  private static final int MAX_RECORDED = 10_000;
  private volatile long framesSent;
  private long pings;
  private final Socket socket;
  private final OutputStream out;
  private final DefaultHttp2HeadersEncoder hpack = new DefaultHttp2HeadersEncoder(Http2HeadersEncoder.NEVER_SENSITIVE, true);

  /** Connects, sends the preface and a SETTINGS frame with {@code settings} (id, value pairs). */
  RawH2(int port, int... settings) throws IOException {
    this(true, port, settings);
  }

  /**
   * A peer that never reads what the proxy sends (a small receive buffer, no reader thread): whatever the
   * proxy writes beyond the socket buffers stays queued in the proxy. {@link #closedByPeer} is never set.
   */
  static RawH2 notReading(int port, int... settings) throws IOException {
    return new RawH2(false, port, settings);
  }

  private RawH2(boolean reading, int port, int... settings) throws IOException {
    socket = new Socket();
    if (!reading) {
      socket.setReceiveBufferSize(4096);
    }
    socket.connect(new java.net.InetSocketAddress("127.0.0.1", port));
    out = socket.getOutputStream();
    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    byte[] s = new byte[settings.length / 2 * 6];
    for (int i = 0; i < settings.length; i += 2) {
      int at = i / 2 * 6;
      s[at] = (byte) (settings[i] >> 8);
      s[at + 1] = (byte) settings[i];
      putInt(s, at + 2, settings[i + 1]);
    }
    frame(SETTINGS, 0, 0, s);
    if (reading) {
      Thread reader = new Thread(this::readLoop, "raw-h2-reader");
      reader.setDaemon(true);
      reader.start();
    }
  }

  private void readLoop() {
    try {
      DataInputStream in = new DataInputStream(socket.getInputStream());
      while (true) {
        int len = (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
        int type = in.readUnsignedByte();
        int flags = in.readUnsignedByte();
        int stream = in.readInt() & 0x7fffffff;
        byte[] payload = in.readNBytes(len);
        if (type == DATA) {
          dataBytes.addAndGet(len);
          if (stream < 100) { // the first few streams' bodies, for tests that read responses
            bodies.computeIfAbsent(stream, k -> new java.io.ByteArrayOutputStream()).write(payload);
          }
        }
        if (type == HEADERS && (flags & END_HEADERS) != 0) {
          decodeHeaders(stream, flags, payload);
        }
        if (type == SETTINGS && (flags & 1) == 0) {
          synchronized (this) {
            frame(SETTINGS, 1, 0, new byte[0]); // ACK, as any peer must
          }
        }
        boolean syncAck = type == PING && (flags & 1) != 0 && payload.length == 8 && payload[4] + payload[5] + payload[6] + payload[7] != 0;
        if (frames.size() < MAX_RECORDED || syncAck) { // a flood's answers (PING ACKs, refusals) need not all be kept
          frames.add(new Frame(type, flags, stream, type == DATA ? new byte[0] : payload));
        }
      }
    } catch (IOException e) {
      closedByPeer = true;
    }
  }

  /** Decoded header blocks the proxy sent (HEADERS with END_HEADERS), in order, as stream and headers. */
  final List<java.util.Map.Entry<Integer, Http2Headers>> headers = new CopyOnWriteArrayList<>();
  private final io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder hpackIn =
      new io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder(false);

  private void decodeHeaders(int stream, int flags, byte[] payload) {
    int from = 0, to = payload.length;
    if ((flags & 0x8) != 0) { // PADDED
      to -= payload[0] & 0xff;
      from = 1;
    }
    if ((flags & 0x20) != 0) { // PRIORITY
      from += 5;
    }
    try {
      headers.add(java.util.Map.entry(stream, hpackIn.decodeHeaders(stream, Unpooled.wrappedBuffer(payload, from, to - from))));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private final java.util.Map<Integer, java.io.ByteArrayOutputStream> bodies = new java.util.concurrent.ConcurrentHashMap<>();

  /** The DATA received so far on {@code stream} (streams below 100 only). */
  byte[] bodyOf(int stream) {
    java.io.ByteArrayOutputStream b = bodies.get(stream);
    return b == null ? new byte[0] : b.toByteArray();
  }

  /** The :status values the proxy sent on {@code stream}, in order (1xx included). */
  List<String> statuses(int stream) {
    return headers.stream().filter(e -> e.getKey() == stream).map(e -> String.valueOf(e.getValue().status())).toList();
  }

  synchronized void frame(int type, int flags, int stream, byte[] payload) throws IOException {
    byte[] h = new byte[9];
    h[0] = (byte) (payload.length >> 16);
    h[1] = (byte) (payload.length >> 8);
    h[2] = (byte) payload.length;
    h[3] = (byte) type;
    h[4] = (byte) flags;
    putInt(h, 5, stream);
    out.write(h);
    out.write(payload);
    framesSent++;
  }

  /** Frames written so far; readable while another thread is blocked in {@link #frame}. */
  long framesSent() {
    return framesSent;
  }

  /** Swallows the write errors of a peer that already hung up on us. */
  void quietly(IoAction a) {
    try {
      a.run();
    } catch (IOException e) {
      // the proxy closed the connection: what the attack tests expect
    }
  }

  interface IoAction {
    void run() throws IOException;
  }

  byte[] headerBlock(String method, String path, String... extra) {
    Http2Headers headers = new DefaultHttp2Headers(false).method(method).path(path).scheme("http").authority("localhost");
    for (int i = 0; i < extra.length; i += 2) {
      headers.add(extra[i], extra[i + 1]);
    }
    ByteBuf buf = Unpooled.buffer();
    try {
      hpack.encodeHeaders(1, headers, buf);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return ByteBufUtil.getBytes(buf);
  }

  void get(int stream, String path) throws IOException {
    frame(HEADERS, END_HEADERS | END_STREAM, stream, headerBlock("GET", path));
  }

  /** HEADERS without END_STREAM: the stream stays open for a body that never comes. */
  void open(int stream, String path) throws IOException {
    frame(HEADERS, END_HEADERS, stream, headerBlock("GET", path));
  }

  void rst(int stream, long code) throws IOException {
    byte[] p = new byte[4];
    putInt(p, 0, (int) code);
    frame(RST_STREAM, 0, stream, p);
  }

  void windowUpdate(int stream, int increment) throws IOException {
    byte[] p = new byte[4];
    putInt(p, 0, increment);
    frame(WINDOW_UPDATE, 0, stream, p);
  }

  /** Waits for a frame the predicate accepts; null if none within the time. */
  Frame await(Predicate<Frame> p, Duration within) throws InterruptedException {
    long end = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < end) {
      for (Frame f : frames) {
        if (p.test(f)) {
          return f;
        }
      }
      Thread.sleep(20);
    }
    return null;
  }

  /**
   * Sends a PING and waits for its ACK: the proxy has then read everything sent before it, so an
   * attacker that calls this every few frames never runs further ahead of the proxy than that. False
   * when no ACK came within the time (connection cut or the proxy stalled).
   */
  boolean sync(Duration within) throws IOException, InterruptedException {
    long id = ++pings;
    byte[] p = new byte[8];
    putInt(p, 4, (int) id);
    frame(PING, 0, 0, p);
    return await(f -> f.type == PING && (f.flags & 1) != 0 && f.payload.length == 8
        && ((f.payload[4] & 0xff) << 24 | (f.payload[5] & 0xff) << 16 | (f.payload[6] & 0xff) << 8 | (f.payload[7] & 0xff)) == (int) id,
        within) != null;
  }

  /** The first GOAWAY the proxy sent within the time, or null. */
  Frame goAway(Duration within) throws InterruptedException {
    return await(f -> f.type == GOAWAY, within);
  }

  static void putInt(byte[] b, int at, int v) {
    b[at] = (byte) (v >>> 24);
    b[at + 1] = (byte) (v >>> 16);
    b[at + 2] = (byte) (v >>> 8);
    b[at + 3] = (byte) v;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
