package io.keelson.dataplane.discovery;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.dns.DefaultDnsQuery;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DnsOpCode;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.handler.codec.dns.DnsResponse;
import io.netty.handler.codec.dns.DnsResponseCode;
import io.netty.handler.codec.dns.DnsSection;
import io.netty.handler.codec.dns.TcpDnsQueryEncoder;
import io.netty.handler.codec.dns.TcpDnsResponseDecoder;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * One question asked over TCP (Envoy's use_tcp_for_dns_lookups), of each server in turn until one answers: a connection
 * per query, closed with it, each server given {@code timeout} to connect and answer; an NXDOMAIN answer ends it
 * ({@link NoSuchName}). Confined to the DNS client's event loop.
 */
final class TcpDnsQuery {
  private TcpDnsQuery() {}

  /** A server's NXDOMAIN: the name does not exist (the search list goes on). */
  static final class NoSuchName extends UnknownHostException {
    NoSuchName(String message) {
      super(message);
    }
  }

  /** The address records answering {@code name}'s {@code type} question; fails when no server answers it. */
  static Future<List<DnsAnswer.Address>> ask(EventLoop loop, List<InetSocketAddress> servers, String name,
      DnsRecordType type, Duration timeout) {
    Promise<List<DnsAnswer.Address>> answer = loop.newPromise();
    attempt(loop, servers, 0, name, type, timeout, answer, new UnknownHostException(name + ": no DNS server"));
    return answer;
  }

  private static void attempt(EventLoop loop, List<InetSocketAddress> servers, int i, String name, DnsRecordType type,
      Duration timeout, Promise<List<DnsAnswer.Address>> answer, Throwable last) {
    if (i == servers.size()) {
      answer.tryFailure(last);
      return;
    }
    Promise<List<DnsAnswer.Address>> one = loop.newPromise();
    one.addListener(f -> {
      if (f.isSuccess()) {
        answer.trySuccess(one.getNow());
      } else if (f.cause() instanceof NoSuchName) { // an answer: no other server is asked
        answer.tryFailure(f.cause());
      } else {
        attempt(loop, servers, i + 1, name, type, timeout, answer, f.cause());
      }
    });
    int id = ThreadLocalRandom.current().nextInt(1 << 16);
    Bootstrap b = new Bootstrap().group(loop).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()))
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new TcpDnsQueryEncoder(), new TcpDnsResponseDecoder(), new Reply(id, name, one));
          }
        });
    b.connect(servers.get(i)).addListener((ChannelFuture cf) -> {
      if (!cf.isSuccess()) {
        one.tryFailure(cf.cause());
        return;
      }
      Channel ch = cf.channel();
      var timer = loop.schedule(() -> one.tryFailure(new IOException(name + ": no answer over TCP from "
          + servers.get(i) + " in " + timeout.toMillis() + " ms")), timeout.toNanos(), TimeUnit.NANOSECONDS);
      one.addListener(f -> {
        timer.cancel(false);
        ch.close();
      });
      ch.closeFuture().addListener(f -> one.tryFailure(new IOException(name + ": " + servers.get(i)
          + " closed the connection without an answer")));
      ch.writeAndFlush(new DefaultDnsQuery(id, DnsOpCode.QUERY).setRecursionDesired(true)
          .setRecord(DnsSection.QUESTION, new DefaultDnsQuestion(name, type)));
    });
  }

  /** Takes the answer to query {@code id}: its address records, or the failure its response code says. */
  private static final class Reply extends SimpleChannelInboundHandler<DnsResponse> {
    private final int id;
    private final String name;
    private final Promise<List<DnsAnswer.Address>> answer;

    Reply(int id, String name, Promise<List<DnsAnswer.Address>> answer) {
      this.id = id;
      this.name = name;
      this.answer = answer;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, DnsResponse r) {
      if (r.id() != id) {
        return;
      }
      if (r.code() == DnsResponseCode.NXDOMAIN) {
        answer.tryFailure(new NoSuchName(name + ": " + r.code()));
        return;
      }
      if (r.code() != DnsResponseCode.NOERROR) {
        answer.tryFailure(new UnknownHostException(name + ": " + r.code()));
        return;
      }
      List<DnsAnswer.Address> addresses = new ArrayList<>();
      for (int i = 0; i < r.count(DnsSection.ANSWER); i++) {
        DnsAnswer.Address a = DnsClient.address(r.recordAt(DnsSection.ANSWER, i));
        if (a != null) {
          addresses.add(a);
        }
      }
      answer.trySuccess(addresses);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      answer.tryFailure(cause);
      ctx.close();
    }
  }
}
