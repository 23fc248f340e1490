package io.keelson.dataplane.testing;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.http3.DefaultHttp3DataFrame;
import io.netty.handler.codec.http3.DefaultHttp3Headers;
import io.netty.handler.codec.http3.DefaultHttp3HeadersFrame;
import io.netty.handler.codec.http3.Http3;
import io.netty.handler.codec.http3.Http3ClientConnectionHandler;
import io.netty.handler.codec.http3.Http3DataFrame;
import io.netty.handler.codec.http3.Http3Headers;
import io.netty.handler.codec.http3.Http3HeadersFrame;
import io.netty.handler.codec.http3.Http3RequestStreamInboundHandler;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A Netty HTTP/3 client for tests: one QUIC connection, any number of request streams on it, each answered as a
 * {@link Response} (status, header fields, body, trailers). Threads: one Netty loop of its own.
 */
public final class H3Client implements AutoCloseable {
  /** A response: {@code :status}, the other fields, the body and the trailers (empty when none came). */
  public record Response(int status, Map<String, String> headers, byte[] body, Map<String, String> trailers) {
    public String bodyText() {
      return new String(body, java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  private final Channel udp;
  private final QuicChannel quic;
  /** The requests' :authority: the SNI sent, else localhost. */
  private final String authority;

  public H3Client(int port) throws Exception {
    this(port, null);
  }

  /** A connection to 127.0.0.1:{@code port} sending {@code sni} (null: none) in its ClientHello and as :authority. */
  public H3Client(int port, String sni) throws Exception {
    authority = sni == null ? "localhost" : sni;
    var ssl = QuicSslContextBuilder.forClient().trustManager(InsecureTrustManagerFactory.INSTANCE)
        .applicationProtocols(Http3.supportedApplicationProtocols()).build();
    var codec = Http3.newQuicClientCodecBuilder();
    if (sni == null) {
      codec.sslContext(ssl);
    } else {
      codec.sslEngineProvider(q -> ssl.newEngine(q.alloc(), sni, port));
    }
    udp = new Bootstrap().group(group).channel(NioDatagramChannel.class)
        .handler(codec.maxIdleTimeout(60, TimeUnit.SECONDS)
            .initialMaxData(64L << 20).initialMaxStreamDataBidirectionalLocal(16L << 20)
            .initialMaxStreamsUnidirectional(16).build())
        .bind(0).sync().channel();
    try {
      quic = QuicChannel.newBootstrap(udp).handler(new io.netty.channel.ChannelInitializer<QuicChannel>() {
            @Override
            protected void initChannel(QuicChannel ch) {
              ch.pipeline().addLast(new Http3ClientConnectionHandler(), new CloseWatch());
            }
          })
          .remoteAddress(new InetSocketAddress("127.0.0.1", port)).connect().get(30, TimeUnit.SECONDS);
    } catch (Exception e) { // refused: nothing of this client is left running
      udp.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** The certificate the server presented. */
  public java.security.cert.X509Certificate peerCertificate() throws Exception {
    return (java.security.cert.X509Certificate) quic.sslEngine().getSession().getPeerCertificates()[0];
  }

  /** A request of {@code method} to {@code path} with extra {@code fields} (name, value pairs) and no body. */
  public CompletableFuture<Response> send(String method, String path, String... fields) throws Exception {
    return send(method, path, null, null, fields);
  }

  /**
   * A request with {@code body} (null for none) and {@code trailers} (null for none) after it: HEADERS, DATA, HEADERS,
   * then FIN.
   */
  public CompletableFuture<Response> send(String method, String path, byte[] body, Map<String, String> trailers,
      String... fields) throws Exception {
    CompletableFuture<Response> out = new CompletableFuture<>();
    QuicStreamChannel stream = Http3.newRequestStream(quic, new Collector(out)).get(30, TimeUnit.SECONDS);
    Http3Headers h = new DefaultHttp3Headers().method(method).path(path).authority(authority).scheme("https");
    for (int i = 0; i + 1 < fields.length; i += 2) {
      h.add(fields[i], fields[i + 1]);
    }
    java.util.List<Object> frames = new java.util.ArrayList<>();
    frames.add(new DefaultHttp3HeadersFrame(h));
    if (body != null) {
      frames.add(new DefaultHttp3DataFrame(Unpooled.wrappedBuffer(body)));
    }
    if (trailers != null) {
      DefaultHttp3Headers t = new DefaultHttp3Headers();
      trailers.forEach(t::add);
      frames.add(new DefaultHttp3HeadersFrame(t));
    }
    stream.eventLoop().execute(() -> {
      for (int i = 0; i < frames.size() - 1; i++) {
        stream.write(frames.get(i));
      }
      stream.writeAndFlush(frames.getLast()).addListener(QuicStreamChannel.SHUTDOWN_OUTPUT);
    });
    return out;
  }

  /** A request without a body whose FIN goes in its own packet {@code finAfterMillis} after the HEADERS frame. */
  public CompletableFuture<Response> sendHeadThenFin(String method, String path, long finAfterMillis) throws Exception {
    CompletableFuture<Response> out = new CompletableFuture<>();
    QuicStreamChannel stream = Http3.newRequestStream(quic, new Collector(out)).get(30, TimeUnit.SECONDS);
    Http3Headers h = new DefaultHttp3Headers().method(method).path(path).authority("localhost").scheme("https");
    stream.writeAndFlush(new DefaultHttp3HeadersFrame(h)).addListener(f ->
        stream.eventLoop().schedule(() -> stream.shutdownOutput(), finAfterMillis, TimeUnit.MILLISECONDS));
    return out;
  }

  /**
   * Opens a request stream, sends {@code method path}'s HEADERS without FIN (the request goes on to be routed and
   * forwarded) and, once they are written, cancels it as a client that gave up: STOP_SENDING and RESET_STREAM with
   * H3_REQUEST_CANCELLED. Completes when the reset is written.
   */
  public CompletableFuture<Void> openAndReset(String method, String path) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    QuicStreamChannel stream = Http3.newRequestStream(quic, new io.netty.channel.ChannelInboundHandlerAdapter())
        .get(30, TimeUnit.SECONDS);
    Http3Headers h = new DefaultHttp3Headers().method(method).path(path).authority(authority).scheme("https");
    stream.writeAndFlush(new DefaultHttp3HeadersFrame(h)).addListener(f -> stream.shutdown(
        io.netty.handler.codec.http3.Http3ErrorCode.H3_REQUEST_CANCELLED.code()).addListener(g -> done.complete(null)));
    return done;
  }

  /**
   * Sends {@code method path}'s HEADERS with FIN (the whole request) and, once written, gives up on the response with
   * STOP_SENDING(H3_REQUEST_CANCELLED) only ({@code resetToo}: and RESET_STREAM, as browsers cancel). Completes when
   * the cancel is written.
   */
  public CompletableFuture<Void> sendThenCancel(String method, String path, boolean resetToo) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    QuicStreamChannel stream = Http3.newRequestStream(quic, new io.netty.channel.ChannelInboundHandlerAdapter())
        .get(30, TimeUnit.SECONDS);
    Http3Headers h = new DefaultHttp3Headers().method(method).path(path).authority(authority).scheme("https");
    long code = io.netty.handler.codec.http3.Http3ErrorCode.H3_REQUEST_CANCELLED.code();
    stream.writeAndFlush(new DefaultHttp3HeadersFrame(h)).addListener(QuicStreamChannel.SHUTDOWN_OUTPUT)
        .addListener(f -> stream.eventLoop().schedule(() -> {
          var cancel = resetToo ? stream.shutdown((int) code) : stream.shutdownInput((int) code);
          cancel.addListener(g -> done.complete(null));
        }, 300, TimeUnit.MILLISECONDS));
    return done;
  }

  /**
   * Opens a request stream and sends its HEADERS (no FIN); the stream is returned for {@link #sendAndReset}. Completes
   * once the HEADERS were written.
   */
  public CompletableFuture<QuicStreamChannel> open(String method, String path) throws Exception {
    QuicStreamChannel stream = Http3.newRequestStream(quic, new io.netty.channel.ChannelInboundHandlerAdapter())
        .get(30, TimeUnit.SECONDS);
    CompletableFuture<QuicStreamChannel> sent = new CompletableFuture<>();
    stream.writeAndFlush(new DefaultHttp3HeadersFrame(new DefaultHttp3Headers().method(method).path(path)
        .authority(authority).scheme("https"))).addListener(f -> sent.complete(stream));
    return sent;
  }

  /** Sends a DATA frame on {@code stream}, then, {@code gap} later, cancels it (RESET_STREAM H3_REQUEST_CANCELLED). */
  public CompletableFuture<Void> sendAndReset(QuicStreamChannel stream, byte[] data, java.time.Duration gap) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    stream.writeAndFlush(new DefaultHttp3DataFrame(Unpooled.wrappedBuffer(data))).addListener(f ->
        stream.eventLoop().schedule(() -> stream.shutdown(io.netty.handler.codec.http3.Http3ErrorCode
            .H3_REQUEST_CANCELLED.code()).addListener(g -> done.complete(null)), gap.toMillis(), TimeUnit.MILLISECONDS));
    return done;
  }

  /** The connection is still open (the server has not closed it). */
  public boolean isOpen() {
    return quic.isActive();
  }

  /** The server's CONNECTION_CLOSE, once it came; else null. */
  public io.netty.handler.codec.quic.QuicConnectionCloseEvent closedBy() {
    return closedBy;
  }

  private volatile io.netty.handler.codec.quic.QuicConnectionCloseEvent closedBy;

  private final class CloseWatch extends io.netty.channel.ChannelInboundHandlerAdapter {
    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof io.netty.handler.codec.quic.QuicConnectionCloseEvent e) {
        closedBy = e;
      }
      ctx.fireUserEventTriggered(evt);
    }
  }

  @Override
  public void close() {
    quic.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    udp.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }

  private static final class Collector extends Http3RequestStreamInboundHandler {
    private final CompletableFuture<Response> out;
    private int status = -1;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private final Map<String, String> trailers = new LinkedHashMap<>();
    private final ByteArrayOutputStream body = new ByteArrayOutputStream();

    Collector(CompletableFuture<Response> out) {
      this.out = out;
    }

    @Override
    protected void channelRead(ChannelHandlerContext ctx, Http3HeadersFrame frame) {
      Map<String, String> into = status < 0 ? headers : trailers;
      for (Map.Entry<CharSequence, CharSequence> e : frame.headers()) {
        String name = e.getKey().toString();
        if (name.equals(":status")) {
          status = Integer.parseInt(e.getValue().toString());
        } else {
          into.merge(name, e.getValue().toString(), (a, b) -> a + "," + b);
        }
      }
    }

    @Override
    protected void channelRead(ChannelHandlerContext ctx, Http3DataFrame frame) {
      ByteBuf c = frame.content();
      byte[] bytes = new byte[c.readableBytes()];
      c.readBytes(bytes);
      body.writeBytes(bytes);
      frame.release();
    }

    @Override
    protected void channelInputClosed(ChannelHandlerContext ctx) {
      out.complete(new Response(status, headers, body.toByteArray(), trailers));
      ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      out.completeExceptionally(new java.io.IOException("stream closed before its response ended"));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      out.completeExceptionally(cause);
      ctx.close();
    }
  }
}
