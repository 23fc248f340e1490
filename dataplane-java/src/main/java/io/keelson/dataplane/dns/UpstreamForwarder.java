package io.keelson.dataplane.dns;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.net.InetSocketAddress;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Queries the DNS proxy does not answer itself, on their way to the upstream resolver and back: a fixed table of
 * {@link DnsConfig#maxPending} slots (pre-allocated; no allocation per query beyond Netty's packet), each query sent
 * upstream over UDP under a random 16-bit ID of its own (an ID-to-slot table finds its slot; no two pending queries
 * share an ID), its answer taken only from the upstream asked, under that ID and with the question as forwarded byte
 * for byte (the name's case included), then given the app's ID back and sent to the app (UDP, or TCP with the length
 * prefix). The upstreams are asked in turn, each for its share of the timeout (timeout / number of upstreams):
 * a query the first does not answer in time goes to the next ({@link #sweep}, every 100 ms), and one that none answers
 * gets SERVFAIL; a full table gets SERVFAIL at once.
 *
 * <p>A query that came over TCP is one a client retried after a truncated answer, or one from a client that always
 * uses TCP: when its UDP answer has TC set, it is asked again over TCP, of the same upstream, under a new ID and the
 * same per-upstream timeout, on a connection of its own (at most {@link DnsConfig#maxTcpConnections} open at once;
 * over that, SERVFAIL), and the whole answer goes back to the client. A UDP client gets the truncated answer as it
 * came, and retries over TCP itself (RFC 7766).
 *
 * <p>Confined to the DNS event loop: every method runs there.
 */
final class UpstreamForwarder {
  static final int MAX_SLOTS = 1 << 12;

  private final Pending[] slots;
  /** Per upstream ID, the pending slot that uses it plus one (0: none): 128 KB, allocated once. */
  private final char[] slotById = new char[1 << 16];
  private final int[] free;
  private int freeCount;
  private final InetSocketAddress[] targets;
  private final long attemptNanos;
  private final DnsStats stats;
  private final DnsAnswerer answerer;
  private final DnsCache cache;
  private Channel upstream;
  private Bootstrap tcp;
  private final int maxTcpUpstreams;
  private int tcpUpstreams; // open connections to upstreams; event loop only

  /** One query waiting for the upstream. */
  private static final class Pending {
    boolean inUse;
    int upstreamId = -1; // -1: none
    int clientId;
    int attempt; // index of the upstream asked
    long deadline;
    ByteBuf query; // retained: the app's query, for a SERVFAIL that echoes its question
    Channel client; // the UDP server channel or the app's TCP connection
    InetSocketAddress udpClient; // null for TCP
    Channel tcpUpstream; // the connection the query was asked again on (its UDP answer was truncated), else null
    DnsCache.Key cacheKey; // the query's key in the cache (length 0: its answer is not kept); a buffer reused per slot
  }

  UpstreamForwarder(DnsConfig config, DnsStats stats, DnsAnswerer answerer, DnsCache cache) {
    this.slots = new Pending[config.maxPending()];
    this.free = new int[config.maxPending()];
    for (int i = 0; i < slots.length; i++) {
      slots[i] = new Pending();
      free[i] = slots.length - 1 - i;
    }
    this.freeCount = slots.length;
    // One upstream socket, of the first upstream's family: the others of that family are asked in turn.
    boolean v6 = config.upstreams().getFirst().getAddress() instanceof java.net.Inet6Address;
    this.targets = config.upstreams().stream()
        .filter(u -> (u.getAddress() instanceof java.net.Inet6Address) == v6).toArray(InetSocketAddress[]::new);
    this.attemptNanos = config.timeout().toNanos() / targets.length;
    this.stats = stats;
    this.answerer = answerer;
    this.cache = cache;
    this.maxTcpUpstreams = config.maxTcpConnections();
  }

  /** The UDP socket queries go upstream on; TCP connections to the upstreams are made on its event loop. */
  void upstream(Channel channel) {
    this.upstream = channel;
    this.tcp = new Bootstrap().group(channel.eventLoop()).channel(NioSocketChannel.class)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.max(1, java.util.concurrent.TimeUnit.NANOSECONDS.toMillis(attemptNanos)));
  }

  /** The first upstream. */
  InetSocketAddress target() {
    return targets[0];
  }

  int pending() {
    return slots.length - freeCount;
  }

  /**
   * Sends {@code query} (whose reference the forwarder takes over) upstream for {@code client}; when the table is full,
   * answers SERVFAIL at once. Its answer is offered to the cache under {@code cacheKey} (copied).
   */
  void forward(ByteBuf query, Channel client, InetSocketAddress udpClient, DnsCache.Key cacheKey) {
    if (freeCount == 0 || upstream == null || !upstream.isActive()) {
      stats.overflow.increment();
      servfail(client, udpClient, query);
      return;
    }
    int slot = free[--freeCount];
    Pending p = slots[slot];
    p.inUse = true;
    p.clientId = DnsWire.id(query);
    p.attempt = 0;
    p.client = client;
    p.udpClient = udpClient;
    p.query = query;
    if (p.cacheKey == null) {
      p.cacheKey = new DnsCache.Key(new byte[DnsCache.MAX_KEY], 0);
    }
    p.cacheKey.copyFrom(cacheKey);
    send(slot, p);
  }

  /** Sends pending query {@code p} to its current upstream under a fresh ID. */
  private void send(int slot, Pending p) {
    newId(slot, p);
    p.deadline = System.nanoTime() + attemptNanos;
    ByteBuf out = p.query.retainedDuplicate();
    out.setShort(out.readerIndex() + DnsWire.ID_OFFSET, p.upstreamId);
    upstream.writeAndFlush(new DatagramPacket(out, targets[p.attempt]), upstream.voidPromise());
  }

  /** Gives {@code p} (in {@code slot}) a random upstream ID no other pending query has, its old one freed. */
  private void newId(int slot, Pending p) {
    dropId(p);
    int id;
    do {
      id = ThreadLocalRandom.current().nextInt(1 << 16);
    } while (slotById[id] != 0); // at most MAX_SLOTS of 65,536 taken: a few draws at worst
    slotById[id] = (char) (slot + 1);
    p.upstreamId = id;
  }

  private void dropId(Pending p) {
    if (p.upstreamId >= 0) {
      slotById[p.upstreamId] = 0;
      p.upstreamId = -1;
    }
  }

  /** A datagram from the upstream socket. */
  void onResponse(DatagramPacket packet) {
    ByteBuf msg = packet.content();
    if (msg.readableBytes() < DnsWire.HEADER_SIZE) {
      stats.upstreamUnexpected.increment();
      return;
    }
    int id = DnsWire.id(msg);
    int slot = slotById[id] - 1;
    if (slot < 0 || !slots[slot].inUse || slots[slot].upstreamId != id
        || !packet.sender().equals(targets[slots[slot].attempt]) || (DnsWire.flags(msg) & DnsWire.FLAG_QR) == 0
        || DnsWire.sameQuestion(slots[slot].query, msg) < 0) {
      stats.upstreamUnexpected.increment();
      return;
    }
    Pending p = slots[slot];
    if (p.tcpUpstream != null) {
      stats.upstreamUnexpected.increment(); // a duplicate UDP answer while the query is asked over TCP
      return;
    }
    if (p.udpClient == null && (DnsWire.flags(msg) & DnsWire.FLAG_TC) != 0) {
      sendTcp(slot, p); // a TCP client wants the whole answer
      return;
    }
    stats.upstreamResponses.increment();
    answer(slot, p, msg.retain());
  }

  /**
   * Offers {@code msg} (an upstream's answer for {@code p}; released by the write) to the cache, gives it the app's ID,
   * sends it, frees the slot.
   */
  private void answer(int slot, Pending p, ByteBuf msg) {
    cache.store(p.cacheKey, p.query, msg, p.udpClient == null);
    msg.setShort(msg.readerIndex() + DnsWire.ID_OFFSET, p.clientId);
    write(p.client, p.udpClient, msg);
    release(slot);
  }

  /** Asks pending query {@code p} again, over TCP, of its current upstream, under a fresh ID and deadline. */
  private void sendTcp(int slot, Pending p) {
    if (tcpUpstreams >= maxTcpUpstreams) {
      stats.overflow.increment();
      p.query.setShort(p.query.readerIndex() + DnsWire.ID_OFFSET, p.clientId); // the upstream copy shared its bytes
      servfail(p.client, null, p.query.retain());
      release(slot);
      return;
    }
    stats.upstreamTcp.increment();
    newId(slot, p);
    p.deadline = System.nanoTime() + attemptNanos;
    int id = p.upstreamId;
    ByteBuf out = p.query.retainedDuplicate();
    out.setShort(out.readerIndex() + DnsWire.ID_OFFSET, id);
    tcpUpstreams++;
    Channel c = tcp.clone().handler(new ChannelInitializer<SocketChannel>() {
      @Override
      protected void initChannel(SocketChannel ch) {
        DnsTcpFraming.addTo(ch.pipeline());
        ch.pipeline().addLast(new TcpAnswer(slot, id));
      }
    }).connect(targets[p.attempt]).addListener((ChannelFutureListener) f -> {
      if (f.isSuccess()) {
        f.channel().writeAndFlush(out, f.channel().voidPromise());
      } else {
        out.release(); // the sweep gives the query to the next upstream, or SERVFAIL
      }
    }).channel();
    c.closeFuture().addListener(f -> tcpUpstreams--);
    p.tcpUpstream = c;
  }

  /** Reads the one answer on a TCP connection to an upstream. Runs on the DNS event loop. */
  private final class TcpAnswer extends SimpleChannelInboundHandler<ByteBuf> {
    private final int slot;
    private final int id;

    TcpAnswer(int slot, int id) {
      this.slot = slot;
      this.id = id;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuf msg) {
      Pending p = slots[slot];
      if (!p.inUse || p.tcpUpstream != ctx.channel() || p.upstreamId != id || msg.readableBytes() < DnsWire.HEADER_SIZE
          || DnsWire.id(msg) != id || (DnsWire.flags(msg) & DnsWire.FLAG_QR) == 0
          || DnsWire.sameQuestion(p.query, msg) < 0) {
        stats.upstreamUnexpected.increment();
        ctx.close();
        return;
      }
      stats.upstreamResponses.increment();
      answer(slot, p, msg.retain()); // closes this connection
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      ctx.close(); // a reset or a malformed frame: the sweep moves the query on
    }
  }

  /** SERVFAIL for every query past its deadline. */
  void sweep() {
    if (freeCount == slots.length) {
      return; // nothing pending
    }
    long now = System.nanoTime();
    for (int i = 0; i < slots.length; i++) {
      Pending p = slots[i];
      if (p.inUse && now - p.deadline >= 0) {
        stats.upstreamTimeouts.increment();
        closeTcp(p);
        if (p.attempt + 1 < targets.length) {
          p.attempt++; // the next upstream, under a new ID: a late answer from the previous one is not taken
          send(i, p);
          continue;
        }
        p.query.setShort(p.query.readerIndex() + DnsWire.ID_OFFSET, p.clientId); // the upstream copy shared its bytes
        servfail(p.client, p.udpClient, p.query.retain());
        release(i);
      }
    }
  }

  /** Releases every pending query (the server is closing). */
  void clear() {
    for (int i = 0; i < slots.length; i++) {
      if (slots[i].inUse) {
        release(i);
      }
    }
  }

  private void release(int slot) {
    Pending p = slots[slot];
    p.inUse = false;
    dropId(p);
    closeTcp(p);
    p.query.release();
    p.query = null;
    p.client = null;
    p.udpClient = null;
    free[freeCount++] = slot;
  }

  private static void closeTcp(Pending p) {
    if (p.tcpUpstream != null) {
      p.tcpUpstream.close();
      p.tcpUpstream = null;
    }
  }

  /** SERVFAIL for {@code query} (released here) to the client. */
  private void servfail(Channel client, InetSocketAddress udpClient, ByteBuf query) {
    try {
      ByteBuf out = client.alloc().buffer(query.readableBytes());
      answerer.servfail(query, out);
      stats.servfail.increment();
      write(client, udpClient, out);
    } finally {
      query.release();
    }
  }

  /** Sends {@code out} (released by the write) to the app: a datagram, or a message on its TCP connection (framed there). */
  static void write(Channel client, InetSocketAddress udpClient, ByteBuf out) {
    if (!client.isActive()) {
      out.release();
      return;
    }
    client.writeAndFlush(udpClient != null ? new DatagramPacket(out, udpClient) : out, client.voidPromise());
  }
}
