package io.keelson.dataplane.dns;

import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The sidecar's DNS proxy: UDP and TCP on {@link DnsConfig#host()}:{@link DnsConfig#port()} (127.0.0.1:15053), where
 * {@code bin/keelson iptables --redirect-dns} sends the app's port-53 queries. Each query is answered from the current
 * {@link NameTable} ({@code tables}: read per query, so a new table from the control plane applies to the next one) by
 * {@link DnsAnswerer}, else from the {@link DnsCache} of upstream answers, else forwarded to the upstream resolver by
 * {@link UpstreamForwarder}. A TCP connection carries
 * length-prefixed messages (RFC 7766), is closed after 10 s without a query, and at most
 * {@link DnsConfig#maxTcpConnections} are open at once.
 *
 * <p>Threading: one event loop (NIO, thread {@code keelson-dns}) runs both sockets, every TCP connection, the upstream
 * socket and the timeout sweep, so the answerer, the cache and the forwarding table have a single writer.
 * {@link #start} and {@link #close} may be called from any thread.
 */
public final class DnsServer implements AutoCloseable {
  private static final int TCP_IDLE_SECONDS = 10;

  private final EventLoopGroup group;
  private final Channel udp;
  private final Channel tcp;
  private final Channel upstream;
  private final UpstreamForwarder forwarder;

  private DnsServer(EventLoopGroup group, Channel udp, Channel tcp, Channel upstream, UpstreamForwarder forwarder) {
    this.group = group;
    this.udp = udp;
    this.tcp = tcp;
    this.upstream = upstream;
    this.forwarder = forwarder;
  }

  /**
   * Binds UDP and TCP and the upstream socket.
   *
   * @throws IllegalStateException naming the address when a bind fails
   */
  public static DnsServer start(DnsConfig config, Supplier<NameTable> tables, StatsRegistry statsRegistry)
      throws InterruptedException {
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("keelson-dns", true),
        NioIoHandler.newFactory());
    DnsStats stats = new DnsStats(statsRegistry);
    DnsAnswerer answerer = new DnsAnswerer(config.searchDomains());
    DnsCache cache = new DnsCache(config.cacheEntries(), config.cacheMaxTtl().toSeconds(),
        config.cacheMaxNegativeTtl().toSeconds(), System::nanoTime, stats);
    UpstreamForwarder forwarder = new UpstreamForwarder(config, stats, answerer, cache);
    Queries queries = new Queries(tables, answerer, cache, forwarder, stats);
    try {
      boolean v6 = forwarder.target().getAddress() instanceof java.net.Inet6Address;
      // Answers up to the largest DNS message arrive whole: NIO's default datagram buffer (2048 bytes) would cut an
      // EDNS answer (clients offer 1232 to 4096 bytes) short. A pooled buffer per read, released once relayed.
      Channel upstream = new Bootstrap().group(group).channel(NioDatagramChannel.class)
          .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(DnsTcpFraming.MAX_MESSAGE))
          .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
              forwarder.onResponse(packet);
            }
          })
          .bind(v6 ? "::" : "0.0.0.0", 0).sync().channel();
      forwarder.upstream(upstream);
      // A new handler per bind: with port 0 the bootstrap may bind again (see below), and the handler is not sharable.
      Bootstrap udpBoot = new Bootstrap().group(group).channel(NioDatagramChannel.class)
          .handler(new ChannelInitializer<NioDatagramChannel>() {
            @Override
            protected void initChannel(NioDatagramChannel ch) {
              ch.pipeline().addLast(new SimpleChannelInboundHandler<DatagramPacket>() {
                @Override
                protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket packet) {
                  queries.onUdp(ctx.channel(), packet);
                }
              });
            }
          });
      int[] open = new int[1]; // TCP connections open; touched on the event loop only
      ServerBootstrap tcpBoot = new ServerBootstrap().group(group, group).channel(NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              if (open[0] >= config.maxTcpConnections()) {
                stats.tcpRejected.increment();
                ch.close();
                return;
              }
              open[0]++;
              ch.closeFuture().addListener(f -> open[0]--);
              ch.pipeline().addLast(new ReadTimeoutHandler(TCP_IDLE_SECONDS));
              DnsTcpFraming.addTo(ch.pipeline());
              ch.pipeline().addLast(new SimpleChannelInboundHandler<ByteBuf>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
                      queries.onTcp(ctx.channel(), msg);
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                      ctx.close(); // a read timeout or a reset: nothing to answer
                    }
                  });
            }
          });
      Channel udp;
      Channel tcp = null;
      for (int attempt = 1; ; attempt++) {
        udp = bind(udpBoot.bind(config.host(), config.port()), "UDP", config);
        int port = config.port() == 0 ? ((InetSocketAddress) udp.localAddress()).getPort() : config.port();
        io.netty.channel.ChannelFuture tcpBound = tcpBoot.bind(config.host(), port).await();
        if (tcpBound.isSuccess()) {
          tcp = tcpBound.channel();
          break;
        }
        if (config.port() != 0 || attempt == BIND_ATTEMPTS) {
          udp.close().sync();
          bind(tcpBound, "TCP", config); // throws, naming the address
        }
        udp.close().sync(); // an ephemeral UDP port whose TCP twin is taken: another pair
      }
      group.next().scheduleAtFixedRate(forwarder::sweep, 100, 100, TimeUnit.MILLISECONDS);
      return new DnsServer(group, udp, tcp, upstream, forwarder);
    } catch (RuntimeException | InterruptedException e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** With port 0: how many ephemeral UDP ports are tried for one whose TCP port is free too. */
  private static final int BIND_ATTEMPTS = 8;

  private static Channel bind(io.netty.channel.ChannelFuture future, String protocol, DnsConfig config)
      throws InterruptedException {
    future.await();
    if (!future.isSuccess()) {
      throw new IllegalStateException("the DNS proxy cannot listen on " + protocol + " " + config.host() + ":"
          + config.port() + ": " + future.cause().getMessage() + " (choose another with --dns-port)", future.cause());
    }
    return future.channel();
  }

  public InetSocketAddress udpAddress() {
    return (InetSocketAddress) udp.localAddress();
  }

  public InetSocketAddress tcpAddress() {
    return (InetSocketAddress) tcp.localAddress();
  }

  /** The upstream resolver asked for the names it does not own. */
  public InetSocketAddress upstreamAddress() {
    return forwarder.target();
  }

  @Override
  public void close() {
    udp.close().awaitUninterruptibly();
    tcp.close().awaitUninterruptibly();
    upstream.close().awaitUninterruptibly();
    group.submit(forwarder::clear).awaitUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
  }

  /**
   * Answers each query, from the name table, else from the cache, else forwards it. The answer is composed in one
   * scratch buffer reused for every query, and copied into a pooled buffer of its exact size only when there is one to
   * send: a forwarded or dropped query allocates nothing here. Runs on the DNS event loop.
   */
  private static final class Queries {
    private final Supplier<NameTable> tables;
    private final DnsAnswerer answerer;
    private final DnsCache cache;
    private final UpstreamForwarder forwarder;
    private final DnsStats stats;
    private final ByteBuf scratch = io.netty.buffer.Unpooled.buffer(512, DnsTcpFraming.MAX_MESSAGE);

    Queries(Supplier<NameTable> tables, DnsAnswerer answerer, DnsCache cache, UpstreamForwarder forwarder,
        DnsStats stats) {
      this.tables = tables;
      this.answerer = answerer;
      this.cache = cache;
      this.forwarder = forwarder;
      this.stats = stats;
    }

    void onUdp(Channel channel, DatagramPacket packet) {
      stats.queriesUdp.increment();
      ByteBuf query = packet.content();
      switch (answer(query, true)) {
        case FORWARD -> forward(query, channel, packet.sender(), answerer.edns.udpLimit());
        case DROP -> {}
        default -> UpstreamForwarder.write(channel, packet.sender(), copyAnswer(channel));
      }
    }

    void onTcp(Channel channel, ByteBuf query) {
      stats.queriesTcp.increment();
      switch (answer(query, false)) {
        case FORWARD -> forward(query, channel, null, DnsTcpFraming.MAX_MESSAGE);
        case DROP -> channel.close();
        default -> UpstreamForwarder.write(channel, null, copyAnswer(channel)); // framed by the pipeline
      }
    }

    private DnsAnswerer.Outcome answer(ByteBuf query, boolean udp) {
      scratch.clear();
      DnsAnswerer.Outcome outcome = answerer.answer(query, tables.get(), scratch, udp);
      stats.count(outcome);
      return outcome;
    }

    /** A query the table does not answer: from the cache when it has the answer, else upstream. */
    private void forward(ByteBuf query, Channel channel, InetSocketAddress udpClient, int sizeLimit) {
      ByteBuf cached = cache.answer(query, answerer, sizeLimit, channel.alloc());
      if (cached != null) {
        UpstreamForwarder.write(channel, udpClient, cached);
      } else {
        forwarder.forward(query.retain(), channel, udpClient, cache.probe());
      }
    }

    private ByteBuf copyAnswer(Channel channel) {
      return channel.alloc().buffer(scratch.readableBytes()).writeBytes(scratch);
    }
  }
}
