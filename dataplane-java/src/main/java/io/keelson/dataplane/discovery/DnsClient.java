package io.keelson.dataplane.discovery;

import io.keelson.dataplane.config.DnsResolution;
import io.keelson.dataplane.config.DnsResolverConfig;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.dns.DefaultDnsQuestion;
import io.netty.handler.codec.dns.DnsRawRecord;
import io.netty.handler.codec.dns.DnsRecord;
import io.netty.handler.codec.dns.DnsRecordType;
import io.netty.resolver.dns.DefaultDnsServerAddressStreamProvider;
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverChannelStrategy;
import io.netty.resolver.dns.DnsServerAddressStreamProvider;
import io.netty.resolver.dns.DnsServerAddresses;
import io.netty.resolver.dns.NoopAuthoritativeDnsServerCache;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.NoopDnsCnameCache;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.PromiseCombiner;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * Asynchronous DNS lookups that give the records' TTLs, for DNS clusters with a resolver config or respect_dns_ttl:
 * Netty's resolver (UDP, TCP when a UDP answer is truncated; no cache: every refresh asks the servers) or, with
 * use_tcp_for_dns_lookups, {@link TcpDnsQuery}, all on one event loop of its own (never a proxy's), at most
 * {@link DnsLookups#QUEUE} lookups at once; answers are handed to the caller's callbacks on {@code callbacks}.
 * Thread-safe.
 */
final class DnsClient implements AutoCloseable {
  /** Resolvers kept (one per resolver config in use); the least recently used beyond it is closed. */
  private static final int RESOLVERS = 32;
  private static final DnsResolverConfig SYSTEM =
      new DnsResolverConfig(List.of(), false, false, false, DnsResolverConfig.DEFAULT_QUERY_TIMEOUT);

  /** /etc/hosts as Netty reads it (read again per io.netty.hostsFileRefreshInterval, by default never). */
  private static final io.netty.resolver.DefaultHostsFileEntriesResolver HOSTS =
      new io.netty.resolver.DefaultHostsFileEntriesResolver();

  private final MultiThreadIoEventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, DnsLookups.daemonFactory("keelson-dns-client"), NioIoHandler.newFactory());
  private final EventLoop loop = group.next();
  private final Executor callbacks;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Map<DnsResolverConfig, DnsNameResolver> resolvers = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<DnsResolverConfig, DnsNameResolver> eldest) {
      if (size() > RESOLVERS) {
        eldest.getValue().close();
        return true;
      }
      return false;
    }
  }; // event loop only

  DnsClient(Executor callbacks) {
    this.callbacks = callbacks;
  }

  /** Looks {@code host} up as {@code dns} says: {@code done} gets the answer, or {@code failed} the error. */
  void resolve(String host, DnsResolution dns, Consumer<DnsAnswer> done, Consumer<Exception> failed) {
    if (inFlight.incrementAndGet() > DnsLookups.QUEUE) {
      inFlight.decrementAndGet();
      failed.accept(new UnknownHostException(host + ": " + DnsLookups.QUEUE + " lookups already running"));
      return;
    }
    try {
      loop.execute(() -> {
        try {
          start(host, dns, done, failed);
        } catch (RuntimeException e) { // e.g. a resolver that cannot be built: the lookup fails, the count goes back
          inFlight.decrementAndGet();
          callbacks.execute(() -> failed.accept(e));
        }
      });
    } catch (java.util.concurrent.RejectedExecutionException e) { // closed
      inFlight.decrementAndGet();
      failed.accept(new UnknownHostException(host + ": the DNS client is closed"));
    }
  }

  private void start(String host, DnsResolution dns, Consumer<DnsAnswer> done, Consumer<Exception> failed) {
    List<DnsAnswer.Address> local = localAnswer(host);
    if (local != null) { // as c-ares, before any server: an IP literal (Netty would ask for it as a name), /etc/hosts
      inFlight.decrementAndGet();
      DnsAnswer answer = answer(local, dns.family());
      callbacks.execute(() -> done.accept(answer));
      return;
    }
    DnsResolverConfig config = dns.resolver() == null ? SYSTEM : dns.resolver();
    List<Future<List<DnsAnswer.Address>>> questions = new ArrayList<>();
    if (dns.family() != DnsResolution.LookupFamily.V6_ONLY) {
      questions.add(ask(config, host, DnsRecordType.A));
    }
    if (dns.family() != DnsResolution.LookupFamily.V4_ONLY) {
      questions.add(ask(config, host, DnsRecordType.AAAA));
    }
    Promise<Void> all = loop.newPromise();
    PromiseCombiner combiner = new PromiseCombiner(loop);
    questions.forEach(combiner::add);
    combiner.finish(all);
    all.addListener(f -> {
      inFlight.decrementAndGet();
      List<DnsAnswer.Address> records = new ArrayList<>();
      Throwable cause = null;
      for (var q : questions) {
        if (q.isSuccess()) {
          records.addAll(q.getNow());
        } else {
          cause = q.cause();
        }
      }
      if (records.isEmpty() && cause != null) { // a family without records (NODATA) is no failure when another has some
        Exception e = cause instanceof Exception ex ? ex : new UnknownHostException(host + ": " + cause);
        callbacks.execute(() -> failed.accept(e));
        return;
      }
      DnsAnswer answer = answer(records, dns.family());
      callbacks.execute(() -> done.accept(answer));
    });
  }

  /** The addresses {@code family} keeps and their least TTL. */
  private static DnsAnswer answer(List<DnsAnswer.Address> records, DnsResolution.LookupFamily family) {
    InetAddress[] all = records.stream().map(DnsAnswer.Address::address).toArray(InetAddress[]::new);
    List<InetAddress> kept = family.pick(all);
    long ttl = records.stream().filter(r -> kept.contains(r.address())).mapToLong(DnsAnswer.Address::ttlSeconds)
        .min().orElse(DnsAnswer.NO_TTL);
    return new DnsAnswer(kept, ttl);
  }

  private Future<List<DnsAnswer.Address>> ask(DnsResolverConfig config, String host, DnsRecordType type) {
    if (config.tcp()) {
      List<InetSocketAddress> servers = config.resolvers().isEmpty()
          ? DefaultDnsServerAddressStreamProvider.defaultAddressList() : config.resolvers();
      return TcpDnsQuery.ask(loop, servers, host, type, config.queryTimeout());
    }
    Promise<List<DnsAnswer.Address>> answer = loop.newPromise();
    resolver(config).resolveAll(new DefaultDnsQuestion(host, type)).addListener(f -> {
      if (!f.isSuccess()) {
        answer.tryFailure(f.cause());
        return;
      }
      @SuppressWarnings("unchecked")
      List<DnsRecord> got = (List<DnsRecord>) f.getNow();
      List<DnsAnswer.Address> addresses = new ArrayList<>();
      try {
        for (DnsRecord r : got) {
          DnsAnswer.Address a = address(r);
          if (a != null) {
            addresses.add(a);
          }
        }
      } finally {
        got.forEach(ReferenceCountUtil::release);
      }
      answer.trySuccess(addresses);
    });
    return answer;
  }

  private DnsNameResolver resolver(DnsResolverConfig config) {
    return resolvers.computeIfAbsent(config, c -> {
      DnsServerAddressStreamProvider servers;
      if (c.resolvers().isEmpty()) {
        servers = io.netty.resolver.dns.DnsServerAddressStreamProviders.platformDefault();
      } else {
        DnsServerAddresses list = c.rotate() ? DnsServerAddresses.rotational(c.resolvers())
            : DnsServerAddresses.sequential(c.resolvers());
        servers = hostname -> list.stream();
      }
      DnsNameResolverBuilder b = new DnsNameResolverBuilder(loop)
          .datagramChannelType(NioDatagramChannel.class)
          .socketChannelType(NioSocketChannel.class) // a truncated answer is asked again over TCP
          .datagramChannelStrategy(DnsNameResolverChannelStrategy.ChannelPerResolution)
          .nameServerProvider(servers)
          .resolveCache(NoopDnsCache.INSTANCE)
          .cnameCache(NoopDnsCnameCache.INSTANCE)
          .authoritativeDnsServerCache(NoopAuthoritativeDnsServerCache.INSTANCE)
          .queryTimeoutMillis(c.queryTimeout().toMillis());
      if (c.noDefaultSearchDomain()) {
        b.searchDomains(List.of());
      }
      return b.build();
    });
  }

  /**
   * An IP literal's own address, or a hosts-file name's addresses, with no TTL (so dns_refresh_rate paces their
   * refresh, not Netty's made-up day for hosts-file records); null for a name the servers answer.
   */
  private static List<DnsAnswer.Address> localAnswer(String host) {
    List<DnsAnswer.Address> out = new ArrayList<>();
    byte[] literal = io.netty.util.NetUtil.createByteArrayFromIpAddressString(host);
    try {
      if (literal != null) {
        out.add(new DnsAnswer.Address(InetAddress.getByAddress(literal), DnsAnswer.NO_TTL));
        return out;
      }
    } catch (UnknownHostException e) {
      throw new IllegalStateException(e); // not reached: 4 or 16 bytes
    }
    List<InetAddress> hosts = HOSTS.addresses(host, io.netty.resolver.ResolvedAddressTypes.IPV4_PREFERRED);
    if (hosts == null || hosts.isEmpty()) {
      return null;
    }
    hosts.forEach(a -> out.add(new DnsAnswer.Address(a, DnsAnswer.NO_TTL)));
    return out;
  }

  /** An A or AAAA record's address and TTL; null for other records. */
  static DnsAnswer.Address address(DnsRecord r) {
    if ((r.type() != DnsRecordType.A && r.type() != DnsRecordType.AAAA) || !(r instanceof DnsRawRecord raw)) {
      return null;
    }
    byte[] bytes = ByteBufUtil.getBytes(raw.content());
    if (bytes.length != 4 && bytes.length != 16) {
      return null;
    }
    try {
      return new DnsAnswer.Address(InetAddress.getByAddress(bytes), r.timeToLive());
    } catch (UnknownHostException e) {
      return null; // not reached: the length is checked
    }
  }

  @Override
  public void close() {
    loop.execute(() -> {
      resolvers.values().forEach(DnsNameResolver::close);
      resolvers.clear();
    });
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
  }
}
