package io.keelson.dataplane.tls.offload;

import io.keelson.dataplane.internal.ffm.KernelTls;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.unix.UnixChannel;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslHandler;
import io.netty.internal.tcnative.SSL;
import java.util.Arrays;
import javax.net.ssl.SSLSession;

/**
 * Hands one server connection's TLS 1.3 record layer to the kernel right after the handshake, or leaves it in
 * BoringSSL and counts why. It sits in front of the SslHandler and, during the handshake, passes it the
 * client's bytes one whole TLS record at a time; the moment a record completes the handshake it decides:
 *
 * <ul>
 *   <li>switch only if nothing past that record has been read (so the kernel's receive sequence starts at 0 and
 *       the rest of the stream is still in the socket), nothing was written through the SslHandler since (a
 *       {@link AppWriteWatch} behind it sees every write, and nothing waits in the channel's outbound buffer; its
 *       transmit sequence starts at 0; the connection sends no session tickets), BoringSSL holds no decrypted bytes ({@code SSL_pending}), TLS 1.3 with a suite the
 *       kernel takes, no HTTP/2 ALPN, and the captured secrets belong to this connection's ClientHello random;
 *   <li>then {@code TCP_ULP "tls"}, {@code TLS_TX} and {@code TLS_RX} with keys derived from
 *       SERVER/CLIENT_TRAFFIC_SECRET_0 and record sequence 0, and the SslHandler leaves the pipeline: the
 *       channel carries plaintext. A refused TX leaves the connection in user space (the ULP alone changes
 *       nothing); a refused RX after TX is fatal for the connection (closed, counted);
 *   <li>otherwise the bytes it holds go on to the SslHandler and it leaves the pipeline.
 * </ul>
 *
 * Runs only when the start-up probe found kernel TLS, so nothing here has run on a kernel with TLS yet.
 * Per connection; event-loop confined.
 */
final class KernelTlsSwitch extends ChannelInboundHandlerAdapter {
  static final String NAME = "ktls-switch";
  static final String WATCH = "ktls-app-writes";
  private static final int RECORD_HEADER = 5;

  private final SslHandler ssl;
  private final ReferenceCountedOpenSslEngine engine;
  private final TlsOffload offload;
  private final long sslPointer;
  private final AppWriteWatch watch = new AppWriteWatch();
  private ByteBuf held;
  private boolean decided;
  /** Inside {@link #channelRead}'s hand-over of a record: the decision follows there, not in the listener. */
  private boolean forwarding;

  private KernelTlsSwitch(SslHandler ssl, ReferenceCountedOpenSslEngine engine, TlsOffload offload) {
    this.ssl = ssl;
    this.engine = engine;
    this.offload = offload;
    this.sslPointer = engine.sslPointer();
  }

  static void install(Channel ch, SslHandler ssl, ReferenceCountedOpenSslEngine engine, TlsOffload offload) {
    KernelTlsSwitch s = new KernelTlsSwitch(ssl, engine, offload);
    offload.secrets().expect(s.sslPointer);
    String sslName = ch.pipeline().context(ssl).name();
    ch.pipeline().addBefore(sslName, NAME, s);
    ch.pipeline().addAfter(sslName, WATCH, s.watch);
    ssl.handshakeFuture().addListener(f -> s.handshakeEnded(ch));
  }

  /**
   * The handshake ended without {@link #channelRead} deciding right after the record that ended it (TLS 1.2
   * completes when the server writes its Finished; a failure; a delegated task): never switched, the reason
   * counted for a success, the bytes held passed on.
   */
  private void handshakeEnded(Channel ch) {
    if (decided || forwarding) {
      return;
    }
    ChannelHandlerContext ctx = ch.pipeline().context(this);
    if (ctx == null) {
      return;
    }
    decided = true;
    TrafficSecretLog.Secrets secrets = offload.secrets().take(sslPointer);
    try {
      if (ssl.handshakeFuture().isSuccess()) {
        FallbackReason why = check(ctx, secrets);
        offload.countFallback(why != null ? why : FallbackReason.HANDSHAKE_OUTSIDE_READ);
      }
      passOn(ctx);
    } finally {
      if (secrets != null) {
        secrets.wipe();
      }
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (decided || !(msg instanceof ByteBuf in)) {
      ctx.fireChannelRead(msg);
      return;
    }
    held = held == null ? in : append(ctx, held, in);
    while (held.readableBytes() >= RECORD_HEADER) {
      int length = RECORD_HEADER + held.getUnsignedShort(held.readerIndex() + 3);
      if (held.readableBytes() < length) {
        break;
      }
      forwarding = true;
      try {
        ctx.fireChannelRead(held.readRetainedSlice(length));
      } finally {
        forwarding = false;
      }
      if (decided) {
        return; // the handshake listener decided (and passed the rest on) while the record was handled
      }
      if (ssl.handshakeFuture().isDone() || !ctx.channel().isOpen()) {
        decide(ctx);
        return;
      }
    }
    if (!held.isReadable()) {
      held.release();
      held = null;
    }
  }

  private static ByteBuf append(ChannelHandlerContext ctx, ByteBuf held, ByteBuf in) {
    try {
      ByteBuf merged = ctx.alloc().buffer(held.readableBytes() + in.readableBytes());
      merged.writeBytes(held).writeBytes(in);
      return merged;
    } finally {
      held.release();
      in.release();
    }
  }

  private void decide(ChannelHandlerContext ctx) {
    decided = true;
    TrafficSecretLog.Secrets secrets = offload.secrets().take(sslPointer);
    try {
      if (ssl.handshakeFuture().isSuccess()) {
        FallbackReason why = check(ctx, secrets);
        if (why == null) {
          why = switchToKernel(ctx, secrets);
          if (why == null) {
            return; // switched; this handler is gone
          }
        }
        offload.countFallback(why);
      }
      passOn(ctx);
    } finally {
      if (secrets != null) {
        secrets.wipe();
      }
    }
  }

  /** Why this connection cannot be switched, or null when it can. */
  private FallbackReason check(ChannelHandlerContext ctx, TrafficSecretLog.Secrets secrets) {
    SSLSession session = engine.getSession();
    if (!"TLSv1.3".equals(session.getProtocol())) {
      return FallbackReason.TLS_VERSION;
    }
    OffloadCipher cipher = OffloadCipher.fromName(session.getCipherSuite());
    if (cipher == null) {
      return FallbackReason.CIPHER;
    }
    String alpn = ssl.applicationProtocol();
    if (alpn != null && !alpn.equals("http/1.1")) {
      return FallbackReason.ALPN;
    }
    if (held != null && held.isReadable() || SSL.sslPending(sslPointer) > 0) {
      return FallbackReason.BUFFERED_RECORDS;
    }
    if (watch.written || ctx.channel().unsafe().outboundBuffer() == null
        || ctx.channel().unsafe().outboundBuffer().totalPendingWriteBytes() > 0) {
      return FallbackReason.APP_DATA_WRITTEN; // the kernel would encrypt bytes BoringSSL already encrypted
    }
    if (secrets == null || !secrets.complete() || secrets.clientTraffic().length != cipher.secretLength
        || secrets.serverTraffic().length != cipher.secretLength
        || !Arrays.equals(secrets.clientRandom(), SSL.getClientRandom(sslPointer))) {
      return FallbackReason.SECRETS;
    }
    return null;
  }

  /** The setsockopt calls and the pipeline change; null when switched, else why not. */
  private FallbackReason switchToKernel(ChannelHandlerContext ctx, TrafficSecretLog.Secrets secrets) {
    OffloadCipher cipher = OffloadCipher.fromName(engine.getSession().getCipherSuite());
    int fd = ((UnixChannel) ctx.channel()).fd().intValue();
    if (KernelTls.attachUlp(fd) != 0) {
      return FallbackReason.SETSOCKOPT;
    }
    if (install(fd, true, cipher, secrets.serverTraffic()) != 0) {
      return FallbackReason.SETSOCKOPT; // the ULP without keys passes bytes through: user-space TLS still works
    }
    if (install(fd, false, cipher, secrets.clientTraffic()) != 0) {
      // The kernel already encrypts what we send: BoringSSL's records would be encrypted twice. No way back.
      offload.countFallback(FallbackReason.SETSOCKOPT);
      ctx.channel().close();
      decided = true;
      ctx.pipeline().remove(this);
      return null;
    }
    ctx.pipeline().remove(WATCH);
    ctx.channel().attr(io.keelson.dataplane.tls.TlsPipeline.KERNEL_TLS).set(Boolean.TRUE);
    ctx.pipeline().remove(ssl); // its cumulation is empty: it was fed whole records only
    ctx.pipeline().remove(this);
    offload.countOffloaded();
    return null;
  }

  private static int install(int fd, boolean transmit, OffloadCipher cipher, byte[] trafficSecret) {
    TrafficKeys keys = TrafficKeys.derive(cipher, trafficSecret);
    byte[] info = CryptoInfoLayout.encode(cipher, keys, 0);
    try {
      return KernelTls.setCryptoInfo(fd, transmit, info);
    } finally {
      keys.wipe();
      Arrays.fill(info, (byte) 0);
    }
  }

  /** Leaves the connection to the SslHandler: the bytes held go on, then this handler and the watch leave. */
  private void passOn(ChannelHandlerContext ctx) {
    ByteBuf rest = held;
    held = null;
    if (ctx.pipeline().get(WATCH) != null) {
      ctx.pipeline().remove(WATCH);
    }
    ctx.pipeline().remove(this);
    if (rest != null) {
      if (rest.isReadable()) {
        ctx.fireChannelRead(rest);
      } else {
        rest.release();
      }
    }
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (held != null) {
      held.release();
      held = null;
    }
    if (!decided) {
      TrafficSecretLog.Secrets s = offload.secrets().take(sslPointer);
      if (s != null) {
        s.wipe();
      }
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!decided) {
      decided = true;
      TrafficSecretLog.Secrets s = offload.secrets().take(sslPointer);
      if (s != null) {
        s.wipe();
      }
    }
    ctx.fireChannelInactive();
  }

  /** Sits behind the SslHandler and notes any write that goes into it before the switch. Event-loop confined. */
  static final class AppWriteWatch extends ChannelOutboundHandlerAdapter {
    boolean written;

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
      written = true;
      ctx.write(msg, promise);
    }
  }
}
