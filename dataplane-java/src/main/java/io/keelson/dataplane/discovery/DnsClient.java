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
import io.netty.resolver.dns.DnsNameResolver;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.resolver.dns.DnsNameResolverChannelStrategy;
import io.netty.resolver.dns.NoopAuthoritativeDnsServerCache;
import io.netty.resolver.dns.NoopDnsCache;
import io.netty.resolver.dns.NoopDnsCnameCache;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.PromiseCombiner;
import io.netty.util.concurrent.PromiseNotifier;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Asynchronous DNS lookups that give the records' TTLs, for DNS clusters with a resolver config or respect_dns_ttl:
 * Netty's resolver (UDP, TCP when a UDP answer is truncated; no cache: every refresh asks the servers) or, with
 * use_tcp_for_dns_lookups, {@link TcpDnsQuery}, all on one event loop of its own (never a proxy's), at most
 * {@link DnsLookups#QUEUE} lookups at once; answers are handed to the caller's callbacks on {@code callbacks}. As
 * c-ares: IP literals and the hosts file's names answered locally (the file read again when it changes), resolv.conf's
 * search list and servers (read when a resolver config is first used), each server asked query_tries times, in turn or
 * (rotate_nameservers) starting at the next one each lookup, over UDP and TCP alike. Thread-safe.
 */
final class DnsClient implements AutoCloseable {
  /** Resolvers kept (one per resolver config in use); the least recently used beyond it is closed. */
  private static final int RESOLVERS = 32;
  private static final DnsResolverConfig SYSTEM =
      new DnsResolverConfig(List.of(), false, false, false, DnsResolverConfig.DEFAULT_QUERY_TIMEOUT);

  private final MultiThreadIoEventLoopGroup group =
      new MultiThreadIoEventLoopGroup(1, DnsLookups.daemonFactory("keelson-dns-client"), NioIoHandler.newFactory());
  private final EventLoop loop = group.next();
  private final Executor callbacks;
  private final HostsFile hosts; // event loop only
  private final Path resolvConf;
  private final AtomicInteger inFlight = new AtomicInteger();
  private final Map<DnsResolverConfig, Resolver> resolvers = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<DnsResolverConfig, Resolver> eldest) {
      if (size() > RESOLVERS) {
        eldest.getValue().close();
        return true;
      }
      return false;
    }
  }; // event loop only

  DnsClient(Executor callbacks) {
    this(callbacks, HostsFile.ETC_HOSTS, ResolvConf.ETC_RESOLV_CONF);
  }

  /** A client reading {@code hostsFile} and {@code resolvConf} for the system's settings (tests point them elsewhere). */
  DnsClient(Executor callbacks, Path hostsFile, Path resolvConf) {
    this.callbacks = callbacks;
    this.hosts = new HostsFile(hostsFile);
    this.resolvConf = resolvConf;
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
    List<DnsAnswer.Address> local = localAnswer(host, hosts);
    if (local != null) { // as c-ares, before any server: an IP literal (Netty would ask for it as a name), /etc/hosts
      inFlight.decrementAndGet();
      DnsAnswer answer = answer(local, dns.family());
      callbacks.execute(() -> done.accept(answer));
      return;
    }
    Resolver resolver = resolvers.computeIfAbsent(dns.resolver() == null ? SYSTEM : dns.resolver(), Resolver::new);
    List<Future<List<DnsAnswer.Address>>> questions = new ArrayList<>();
    if (dns.family() != DnsResolution.LookupFamily.V6_ONLY) {
      questions.add(resolver.ask(host, DnsRecordType.A));
    }
    if (dns.family() != DnsResolution.LookupFamily.V4_ONLY) {
      questions.add(resolver.ask(host, DnsRecordType.AAAA));
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

  /**
   * One resolver config's way of asking: its servers in their order, resolv.conf's search list unless
   * no_default_search_domain, and (over UDP) its Netty resolver. Event loop only.
   */
  private final class Resolver {
    private final DnsResolverConfig config;
    private final DnsServerOrder servers;
    private final ResolvConf system;
    private DnsNameResolver udp; // built with the first UDP question

    Resolver(DnsResolverConfig config) {
      this.config = config;
      this.system = ResolvConf.read(resolvConf);
      List<InetSocketAddress> own = config.resolvers();
      List<InetSocketAddress> list = !own.isEmpty() && !(config.resolversAsFallback() && !system.nameservers().isEmpty())
          ? own : system.nameservers().isEmpty() ? List.of(ResolvConf.LOCAL_SERVER) : system.nameservers();
      this.servers = new DnsServerOrder(list, config.rotate());
    }

    /** {@code host}'s {@code type} records, resolv.conf's search list walked unless no_default_search_domain. */
    Future<List<DnsAnswer.Address>> ask(String host, DnsRecordType type) {
      List<String> names = config.noDefaultSearchDomain() ? List.of(host) : system.candidates(host);
      return DnsSearch.askEach(loop, names, name -> withTries(config.tries(), () -> config.tcp()
          ? TcpDnsQuery.ask(loop, servers.nextOrder(), name, type, config.queryTimeout()) : askUdp(name, type)));
    }

    /**
     * {@code once} tried up to {@code tries} times (query_tries), each try asking every server: a try that gets no
     * answer (timeouts, errors) is followed by the next; an answer, NXDOMAIN included, ends it.
     */
    private Future<List<DnsAnswer.Address>> withTries(int tries, Supplier<Future<List<DnsAnswer.Address>>> once) {
      Promise<List<DnsAnswer.Address>> answer = loop.newPromise();
      once.get().addListener((Future<List<DnsAnswer.Address>> f) -> {
        if (!f.isSuccess() && tries > 1 && !DnsSearch.noSuchName(f.cause())) {
          PromiseNotifier.cascade(withTries(tries - 1, once), answer);
        } else {
          PromiseNotifier.cascade(f, answer);
        }
      });
      return answer;
    }

    private Future<List<DnsAnswer.Address>> askUdp(String name, DnsRecordType type) {
      Promise<List<DnsAnswer.Address>> answer = loop.newPromise();
      udp().resolveAll(new DefaultDnsQuestion(name, type)).addListener(f -> {
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

    /** The UDP resolver: each question (each name of the search list) asks the servers in their next order. */
    private DnsNameResolver udp() {
      if (udp == null) {
        DnsNameResolverBuilder b = new DnsNameResolverBuilder(loop)
            .datagramChannelType(NioDatagramChannel.class)
            .socketChannelType(NioSocketChannel.class) // a truncated answer is asked again over TCP
            .datagramChannelStrategy(DnsNameResolverChannelStrategy.ChannelPerResolution)
            .nameServerProvider(hostname -> servers.stream())
            .maxQueriesPerResolve(Math.max(16, servers.size() * 2))
            .resolveCache(NoopDnsCache.INSTANCE)
            .cnameCache(NoopDnsCnameCache.INSTANCE)
            .authoritativeDnsServerCache(NoopAuthoritativeDnsServerCache.INSTANCE)
            .queryTimeoutMillis(config.queryTimeout().toMillis())
            .searchDomains(List.of()); // questions are asked as given: DnsSearch walks the search list
        udp = b.build();
      }
      return udp;
    }

    void close() {
      if (udp != null) {
        udp.close();
      }
    }
  }

  /**
   * An IP literal's own address, or a hosts-file name's addresses, with no TTL (so dns_refresh_rate paces their
   * refresh, not Netty's made-up day for hosts-file records); null for a name the servers answer.
   */
  private static List<DnsAnswer.Address> localAnswer(String host, HostsFile hosts) {
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
    List<InetAddress> named = hosts.addresses(host);
    if (named.isEmpty()) {
      return null;
    }
    named.forEach(a -> out.add(new DnsAnswer.Address(a, DnsAnswer.NO_TTL)));
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
      resolvers.values().forEach(Resolver::close);
      resolvers.clear();
    });
    group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
  }
}
