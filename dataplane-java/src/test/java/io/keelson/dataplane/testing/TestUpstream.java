package io.keelson.dataplane.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A real HTTP/1.1 upstream for tests, written on Netty's own codec (independent of Keelson's), whose
 * behaviour is chosen by the request path:
 * <ul>
 *   <li>{@code /delay/MS...} answers after MS milliseconds;
 *   <li>{@code /big/BYTES} streams BYTES of body, producing only while its channel is writable;
 *   <li>{@code /slowread/BYTES_PER_TICK} reads the request body in small steps, then answers the count;
 *   <li>{@code /close} closes the connection without answering; {@code /garbage} answers non-HTTP;
 *   <li>{@code /status/CODE} answers with that status; anything else answers 200.
 * </ul>
 * Every normal answer carries {@code x-upstream: NAME} and a body listing the request line, its headers
 * and the number of body bytes received. Thread-safe counters let tests see what reached it.
 */
public final class TestUpstream implements AutoCloseable {
  private final String name;
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel server;
  /** Open connections, closed with the server as a killed process's would be. */
  private final io.netty.channel.group.ChannelGroup children =
      new io.netty.channel.group.DefaultChannelGroup(io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);
  public final AtomicInteger requests = new AtomicInteger();
  public final AtomicInteger connections = new AtomicInteger();
  /** Body bytes written by /big responses so far. */
  public final AtomicLong bigBytesWritten = new AtomicLong();
  /** Request body bytes read so far (all paths). */
  public final AtomicLong bodyBytesRead = new AtomicLong();
  /** Request lines seen, in order. */
  public final CopyOnWriteArrayList<String> requestLines = new CopyOnWriteArrayList<>();
  /** Headers of the last request (lower-case names; repeated headers joined with ","). */
  public volatile Map<String, String> lastHeaders = Map.of();
  /** The body of the last request that ended (its first 1 MiB). */
  public volatile byte[] lastBody = new byte[0];
  /** The trailers of the last request (lower-case names), empty when it had none. */
  public volatile Map<String, String> lastTrailers = Map.of();
  /** When non-zero, every answer that would be a 200 has this status instead (per-upstream failures). */
  public volatile int forceStatus;
  /** When non-zero, every answer is delayed this long (a slow upstream). */
  public volatile long forceDelayMs;

  public TestUpstream(String name) throws InterruptedException {
    this(name, 0, null);
  }

  /** Connections open now (a proxy that cancels a request closes its HTTP/1.1 connection). */
  public int openConnections() {
    return children.size();
  }

  /** An upstream that speaks HTTP/1.1 inside TLS with {@code tls} (a server context), or plaintext for null. */
  public TestUpstream(String name, io.netty.handler.ssl.SslContext tls) throws InterruptedException {
    this(name, 0, tls);
  }

  /** Listens on {@code port} of 127.0.0.1 (0 for an ephemeral one): lets a test restart an upstream on its old port. */
  public TestUpstream(String name, int port) throws InterruptedException {
    this(name, port, null);
  }

  /** Listens on {@code port} (0: ephemeral), inside TLS with {@code tls} when non-null. */
  public TestUpstream(String name, int port, io.netty.handler.ssl.SslContext tls) throws InterruptedException {
    this(name, "127.0.0.1", port, tls);
  }

  /** Listens on {@code host}:{@code port} (an IP literal; port 0: ephemeral), inside TLS with {@code tls} when non-null. */
  public TestUpstream(String name, String host, int port, io.netty.handler.ssl.SslContext tls) throws InterruptedException {
    this.name = name;
    this.server =
        new ServerBootstrap()
            .group(group)
            .channel(NioServerSocketChannel.class)
            .childHandler(
                new ChannelInitializer<SocketChannel>() {
                  @Override
                  protected void initChannel(SocketChannel ch) {
                    connections.incrementAndGet();
                    children.add(ch);
                    if (tls != null) {
                      ch.pipeline().addLast(tls.newHandler(ch.alloc()));
                    }
                    // header sections up to 64 KiB: what the proxy forwards under Envoy's default max_request_headers_kb (60)
                    ch.pipeline().addLast(new HttpServerCodec(4096, 64 * 1024, 8192)).addLast(new Handler());
                  }
                })
            .option(io.netty.channel.ChannelOption.SO_REUSEADDR, true)
            .bind(host, port)
            .sync()
            .channel();
  }

  /**
   * A port on 127.0.0.1 that nothing listens on: bound once and closed again, so connecting there is
   * refused (an endpoint that is down).
   */
  public static int closedPort() throws java.io.IOException {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  public int port() {
    return ((InetSocketAddress) server.localAddress()).getPort();
  }

  @Override
  public void close() {
    server.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    children.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  private final class Handler extends ChannelInboundHandlerAdapter {
    private HttpRequest request;
    private long bodyBytes;
    private final java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
    private int slowReadStep;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof HttpRequest r) {
        request = r;
        bodyBytes = 0;
        body.reset();
        requests.incrementAndGet();
        requestLines.add(r.method() + " " + r.uri() + " " + r.protocolVersion());
        Map<String, String> headers = new ConcurrentHashMap<>();
        r.headers().forEach(e -> headers.merge(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue(), (a, b) -> a + "," + b));
        lastHeaders = headers;
        String uri = r.uri();
        if (uri.startsWith("/close")) {
          ctx.close();
          return;
        }
        if (uri.startsWith("/garbage")) {
          // Written below the HTTP codec (from its own context), so the bytes go out as they are.
          ctx.pipeline().firstContext()
              .writeAndFlush(Unpooled.copiedBuffer("NOT HTTP AT ALL\r\n\r\n", StandardCharsets.US_ASCII))
              .addListener(ChannelFutureListener.CLOSE);
          return;
        }
        if (uri.startsWith("/slowread/")) {
          slowReadStep = Integer.parseInt(uri.substring("/slowread/".length()));
          ctx.channel().config().setAutoRead(false);
          ctx.executor().schedule(() -> ctx.read(), 5, TimeUnit.MILLISECONDS);
        }
      }
      if (msg instanceof LastHttpContent last) {
        Map<String, String> trailers = new ConcurrentHashMap<>();
        last.trailingHeaders().forEach(e -> trailers.put(e.getKey().toLowerCase(java.util.Locale.ROOT), e.getValue()));
        lastTrailers = trailers;
      }
      if (msg instanceof HttpContent c) {
        bodyBytes += c.content().readableBytes();
        bodyBytesRead.addAndGet(c.content().readableBytes());
        int keep = Math.min(c.content().readableBytes(), (1 << 20) - body.size());
        if (keep > 0) {
          byte[] bytes = new byte[keep];
          c.content().getBytes(c.content().readerIndex(), bytes);
          body.writeBytes(bytes);
        }
        c.release();
        if (slowReadStep > 0 && !(msg instanceof LastHttpContent)) {
          ctx.executor().schedule(() -> ctx.read(), 2, TimeUnit.MILLISECONDS);
        }
        if (msg instanceof LastHttpContent) {
          lastBody = body.toByteArray();
          ctx.channel().config().setAutoRead(true);
          slowReadStep = 0;
          respond(ctx);
        }
      }
    }

    private void respond(ChannelHandlerContext ctx) {
      HttpRequest r = request;
      String uri = r.uri();
      boolean keepAlive = HttpUtil.isKeepAlive(r);
      long forcedDelay = forceDelayMs;
      if (forcedDelay > 0 || forceStatus != 0) {
        long received = bodyBytes;
        int status = forceStatus != 0 ? forceStatus : 200;
        ctx.executor().schedule(() -> writeEcho(ctx, r, received, keepAlive, status), forcedDelay, TimeUnit.MILLISECONDS);
        return;
      }
      if (uri.startsWith("/delay/")) {
        long ms = Long.parseLong(uri.substring("/delay/".length()).replaceAll("[^0-9].*$", ""));
        long received = bodyBytes;
        ctx.executor().schedule(() -> writeEcho(ctx, r, received, keepAlive, 200), ms, TimeUnit.MILLISECONDS);
      } else if (uri.startsWith("/with-trailers")) {
        writeWithTrailers(ctx, keepAlive);
      } else if (uri.startsWith("/big/")) {
        writeBig(ctx, Long.parseLong(uri.substring("/big/".length())), keepAlive);
      } else if (uri.startsWith("/status/")) {
        writeEcho(ctx, r, bodyBytes, keepAlive, Integer.parseInt(uri.substring("/status/".length(), "/status/".length() + 3)));
      } else {
        writeEcho(ctx, r, bodyBytes, keepAlive, 200);
      }
    }

    private void writeEcho(ChannelHandlerContext ctx, HttpRequest r, long received, boolean keepAlive, int status) {
      StringBuilder body = new StringBuilder();
      body.append(r.method()).append(' ').append(r.uri()).append('\n');
      r.headers().forEach(e -> body.append(e.getKey().toLowerCase(java.util.Locale.ROOT)).append(": ").append(e.getValue()).append('\n'));
      body.append("body-bytes: ").append(received).append('\n');
      ByteBuf content = Unpooled.copiedBuffer(body, StandardCharsets.UTF_8);
      HttpResponse resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
      resp.headers().set("x-upstream", name);
      resp.headers().set("x-hop", "should-be-removed");
      resp.headers().set(HttpHeaderNames.CONNECTION, keepAlive ? "keep-alive, x-hop" : "close, x-hop");
      resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
      ctx.write(resp);
      var f = ctx.writeAndFlush(new DefaultLastHttpContent(content));
      if (!keepAlive) {
        f.addListener(ChannelFutureListener.CLOSE);
      }
    }

    /** A chunked "ok" ending with trailers {@code x-upstream-trailer: <name>} and {@code x-drop-trailer: yes}. */
    private void writeWithTrailers(ChannelHandlerContext ctx, boolean keepAlive) {
      HttpResponse resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      resp.headers().set("x-upstream", name);
      HttpUtil.setTransferEncodingChunked(resp, true);
      ctx.write(resp);
      DefaultLastHttpContent end = new DefaultLastHttpContent(Unpooled.copiedBuffer("ok", StandardCharsets.UTF_8));
      end.trailingHeaders().set("x-upstream-trailer", name).set("x-drop-trailer", "yes");
      var f = ctx.writeAndFlush(end);
      if (!keepAlive) {
        f.addListener(ChannelFutureListener.CLOSE);
      }
    }

    /** Streams {@code total} bytes chunked, producing only while writable, so backpressure shows. */
    private void writeBig(ChannelHandlerContext ctx, long total, boolean keepAlive) {
      HttpResponse resp = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      resp.headers().set("x-upstream", name);
      HttpUtil.setTransferEncodingChunked(resp, true);
      ctx.write(resp);
      byte[] block = new byte[16 * 1024];
      java.util.Arrays.fill(block, (byte) 'x');
      Runnable[] pump = new Runnable[1];
      long[] sent = {0};
      pump[0] = () -> {
        while (sent[0] < total && ctx.channel().isWritable()) {
          int n = (int) Math.min(block.length, total - sent[0]);
          sent[0] += n;
          bigBytesWritten.addAndGet(n);
          ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(block, 0, n)));
        }
        if (sent[0] >= total) {
          var f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
          if (!keepAlive) {
            f.addListener(ChannelFutureListener.CLOSE);
          }
        } else if (ctx.channel().isActive()) {
          ctx.executor().schedule(pump[0], 1, TimeUnit.MILLISECONDS);
        }
      };
      pump[0].run();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close();
    }
  }
}
