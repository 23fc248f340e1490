package io.keelson.dataplane.intercept;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.config.ProtocolChains;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Envoy's {@code envoy.filters.listener.http_inspector} with {@code filter_chain_match.application_protocols}: peeks at
 * a connection's first bytes without consuming them ({@link HttpRequestPreface}, at most 8 KiB), picks the chain for
 * the protocol they show ({@link ProtocolChains#select}) and hands the connection to that chain's set-up, which then
 * sees the connection become active and receives every byte peeked, in order. It decides as soon as the bytes tell
 * (a first byte that cannot start HTTP decides at once); a client that sends nothing (a server-first protocol such as
 * MySQL or SMTP) is decided by {@code listener_filters_timeout}: with {@code continue_on_listener_filters_timeout} it
 * goes to the chain for no protocol, else it is closed ({@code downstream_pre_cx_timeout}). A client that half-closes
 * before the bytes decide goes to the chain for what was seen (none). On a listener with chains for
 * {@code transport_protocol: tls} it is Envoy's {@code tls_inspector} too: a connection whose first byte starts a TLS
 * handshake record waits for the ClientHello's record and is matched as {@code tls} by the ALPN names it offers
 * ({@link TlsClientHello}), the chosen chain then terminating TLS itself. Per connection, event-loop confined.
 */
final class HttpInspector extends ListenerFilterDecoder {
  /** Envoy's counters of what the inspector found, and the listener's pre-connection timeouts. */
  record Counters(LongAdder http10, LongAdder http11, LongAdder h2c, LongAdder notFound, LongAdder timeout,
      LongAdder noChain, LongAdder tlsFound, LongAdder tlsNotFound, LongAdder alpnFound, LongAdder alpnNotFound) {}

  private final ProtocolChains chains;
  private final Map<ListenerConfig, ChannelHandler> handlers;
  private final Counters counters;
  private final HttpRequestPreface preface = new HttpRequestPreface(); // keeps its place between reads
  private boolean decided;
  /** Whether the listener has TLS chains (the first byte may start a ClientHello). */
  private final boolean inspectsTls;
  /** The first byte started a TLS handshake: waiting for the ClientHello's record. */
  private boolean tls;

  HttpInspector(ProtocolChains chains, Map<ListenerConfig, ChannelHandler> handlers, Counters counters) {
    this.inspectsTls = chains.inspectsTls();
    this.chains = chains;
    this.handlers = handlers;
    this.counters = counters;
  }

  @Override
  protected long timeoutNanos() {
    return chains.timeout().toNanos();
  }

  @Override
  protected void onStart(ChannelHandlerContext ctx) {
    // A FIN before the bytes decide must reach us as an event (then the chain for "none" gets the connection), not
    // close it; the HTTP chain gets the default back (see install).
    ctx.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (decided) {
      return;
    }
    if (inspectsTls && (tls || (preface.examined() == 0 && TlsClientHello.startsHandshake(in)))) {
      tls = true;
      List<String> alpn = TlsClientHello.alpn(in); // the whole first record, at most 16 KiB
      if (alpn != null) {
        counters.tlsFound().increment();
        (alpn.isEmpty() ? counters.alpnNotFound() : counters.alpnFound()).increment();
        install(ctx, ProtocolChains.TLS, alpn);
      }
      return;
    }
    String found = preface.scan(in); // examines only the bytes new since the last read
    if (found != HttpRequestPreface.NEED_MORE) {
      install(ctx, found);
    }
  }

  @Override
  protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    // The connection is gone: nothing to hand over (the cumulation is released by the decoder).
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (evt instanceof ChannelInputShutdownEvent && !decided) {
      if (tls) { // half a ClientHello, then FIN: no handshake can follow
        decided = true;
        ctx.close();
        return;
      }
      install(ctx, HttpRequestPreface.NONE);
      ctx.pipeline().fireUserEventTriggered(evt); // from the head: this handler is gone, the chain's see the FIN
      return;
    }
    super.userEventTriggered(ctx, evt);
  }

  @Override
  protected void onTimeout(ChannelHandlerContext ctx) {
    if (decided || ctx.isRemoved()) {
      return;
    }
    counters.timeout().increment();
    if (chains.continueOnTimeout()) {
      install(ctx, HttpRequestPreface.NONE);
    } else {
      decided = true;
      ctx.close();
    }
  }

  /** Hands a plaintext connection to the chain for {@code found} (NONE: no protocol), or closes it without one. */
  private void install(ChannelHandlerContext ctx, String found) {
    count(found);
    if (inspectsTls) {
      counters.tlsNotFound().increment();
    }
    install(ctx, ProtocolChains.RAW_BUFFER, found.isEmpty() ? List.of() : List.of(found));
  }

  /** Hands the connection to the chain for {@code transport} and {@code protocols}, or closes it when there is none. */
  private void install(ChannelHandlerContext ctx, String transport, List<String> protocols) {
    decided = true;
    cancelTimeout();
    ListenerConfig chain = chains.select(transport, protocols);
    ChannelHandler handler = chain == null ? null : handlers.get(chain);
    if (handler == null) {
      counters.noChain().increment();
      ctx.close();
      return;
    }
    if (chain.http() != null) {
      ctx.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, false); // as on an HTTP listener
    }
    ctx.pipeline().addAfter(ctx.name(), null, handler); // a ChannelInitializer: its handlers replace it at once
    ctx.fireChannelActive();
    ctx.pipeline().remove(this); // the decoder passes the peeked bytes on, then a read complete
  }

  private void count(String found) {
    switch (found) {
      case HttpRequestPreface.HTTP10 -> counters.http10().increment();
      case HttpRequestPreface.HTTP11 -> counters.http11().increment();
      case HttpRequestPreface.H2C -> counters.h2c().increment();
      default -> counters.notFound().increment();
    }
  }
}
