package io.keelson.dataplane.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.testing.TestCa;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A flush with nothing written since the previous one never reaches the TLS handler (which would wrap an
 * empty buffer for it); written data still goes out as TLS records. BoringSSL engines on two embedded
 * channels, bytes shuttled by hand.
 */
class FlushGateTest {
  static SslContext server;
  static SslContext client;

  @BeforeAll
  static void contexts() throws Exception {
    TestCa ca = new TestCa("flush-gate-ca");
    TestCa.Leaf leaf = ca.issue("server.test", "server.test");
    server = SslContextBuilder.forServer(leaf.key(), leaf.cert()).sslProvider(TlsProvider.selected()).build();
    client = SslContextBuilder.forClient().sslProvider(TlsProvider.selected()).endpointIdentificationAlgorithm(null)
        .trustManager(ca.cert).build();
  }

  @Test
  void anEmptyFlushAfterAFlushWrapsNothingWithTheGate() {
    Pair p = new Pair(true);
    p.client.writeAndFlush(ascii("GET / HTTP/1.1\r\n\r\n"));
    assertThat(p.drainClientRecords()).isEqualTo(1);
    p.client.flush(); // what the HTTP/1.1 path does at the end of the read that completed the request
    p.client.flush();
    assertThat(p.drainClientRecords()).isZero();
    p.client.writeAndFlush(ascii("GET /next HTTP/1.1\r\n\r\n"));
    assertThat(p.drainClientRecords()).isEqualTo(1);
    assertThat(p.serverReceived()).isEqualTo("GET / HTTP/1.1\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
  }

  @Test
  void withoutTheGateAnEmptyFlushIsAWrapThatWritesAnEmptyBuffer() {
    // The cost the gate removes: SslHandler answers every flush with a wrap, even with nothing pending.
    Pair p = new Pair(false);
    p.client.writeAndFlush(ascii("GET / HTTP/1.1\r\n\r\n"));
    p.drainClientRecords();
    p.client.flush();
    assertThat(p.drainClientWrites()).isEqualTo(1); // one (empty) write per empty flush
  }

  @Test
  void writesBeforeTheHandshakeEndsGoOutOnceItHas() {
    Pair p = new Pair(true, false);
    p.client.write(ascii("early"));
    p.client.flush();
    p.client.flush();
    p.handshake();
    p.shuttle();
    assertThat(p.serverReceived()).isEqualTo("early");
  }

  private static ByteBuf ascii(String s) {
    return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
  }

  /** A client and a server channel, each with TLS (and the gate on the client when asked). */
  private static final class Pair {
    final EmbeddedChannel client;
    final EmbeddedChannel server;
    final List<ByteBuf> serverIn = new ArrayList<>();

    Pair(boolean gate) {
      this(gate, true);
    }

    Pair(boolean gate, boolean handshakeNow) {
      SslHandler c = FlushGateTest.client.newHandler(io.netty.buffer.ByteBufAllocator.DEFAULT);
      client = gate ? new EmbeddedChannel(c, new FlushGate()) : new EmbeddedChannel(c);
      server = new EmbeddedChannel(FlushGateTest.server.newHandler(io.netty.buffer.ByteBufAllocator.DEFAULT),
          new io.netty.channel.ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(io.netty.channel.ChannelHandlerContext ctx, Object msg) {
              serverIn.add((ByteBuf) msg);
            }
          });
      if (handshakeNow) {
        handshake();
      }
    }

    void handshake() {
      for (int i = 0; i < 20 && !(done(client) && done(server)); i++) {
        shuttle();
      }
      assertThat(done(client) && done(server)).as("handshake").isTrue();
      shuttle();
    }

    private static boolean done(EmbeddedChannel ch) {
      return ch.pipeline().get(SslHandler.class).handshakeFuture().isSuccess();
    }

    /** Moves every pending byte between the two sides, both ways. */
    void shuttle() {
      for (int i = 0; i < 20; i++) {
        boolean moved = move(client, server) | move(server, client);
        if (!moved) {
          return;
        }
      }
    }

    private static boolean move(EmbeddedChannel from, EmbeddedChannel to) {
      boolean moved = false;
      Object m;
      while ((m = from.readOutbound()) != null) {
        ByteBuf b = (ByteBuf) m;
        if (b.isReadable()) {
          to.writeInbound(b);
          moved = true;
        } else {
          b.release();
        }
      }
      return moved;
    }

    /** Non-empty writes the client sent since the last call, delivered to the server. */
    int drainClientRecords() {
      int records = 0;
      Object m;
      while ((m = client.readOutbound()) != null) {
        ByteBuf b = (ByteBuf) m;
        if (b.isReadable()) {
          records++;
          server.writeInbound(b);
        } else {
          b.release();
        }
      }
      shuttle();
      return records;
    }

    /** Every write (empty ones too) that reached the client's transport since the last call. */
    int drainClientWrites() {
      int writes = 0;
      Object m;
      while ((m = client.readOutbound()) != null) {
        writes++;
        ReferenceCountUtil.release(m);
      }
      return writes;
    }

    String serverReceived() {
      StringBuilder s = new StringBuilder();
      for (ByteBuf b : serverIn) {
        s.append(b.toString(StandardCharsets.US_ASCII));
        b.release();
      }
      serverIn.clear();
      return s.toString();
    }
  }
}
