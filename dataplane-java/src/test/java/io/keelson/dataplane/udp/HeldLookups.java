package io.keelson.dataplane.udp;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The JDK's name resolver for the test JVM (registered as its {@link InetAddressResolverProvider}): names ending in
 * {@value #SUFFIX} are a DNS server the test controls: they answer the addresses {@link #answer} set last (127.0.0.1
 * when none), after {@link #delay}'s pause, and a name {@link #hold} holds answers only once the test releases it (a
 * slow DNS server, held as long as the test wants); an unknown answer ({@link #fail}) is an unknown host. Every other
 * name and address goes to the JDK's built-in resolver, unchanged. The test JVM runs with {@code
 * -Dsun.net.inetaddr.ttl=0} (the root pom), so each lookup reaches this resolver.
 */
public final class HeldLookups extends InetAddressResolverProvider {
  public static final String SUFFIX = ".held.keelson.test";
  private static final Map<String, CountDownLatch> HELD = new ConcurrentHashMap<>();
  private static final Map<String, List<String>> ANSWERS = new ConcurrentHashMap<>();
  private static final Map<String, Duration> DELAYS = new ConcurrentHashMap<>();
  private static final Map<String, AtomicInteger> LOOKUPS = new ConcurrentHashMap<>();

  /** From now on, {@code name} answers {@code ips} (IP literals; none: an unknown host). */
  public static void answer(String name, String... ips) {
    ANSWERS.put(name, List.of(ips));
  }

  /** {@code name} answers as an unknown host from now on. */
  public static void fail(String name) {
    answer(name);
  }

  /** Each lookup of {@code name} takes {@code pause} before it answers (a slow DNS server). */
  public static void delay(String name, Duration pause) {
    DELAYS.put(name, pause);
  }

  /** How many lookups of {@code name} reached this resolver. */
  public static int lookups(String name) {
    AtomicInteger n = LOOKUPS.get(name);
    return n == null ? 0 : n.get();
  }

  /** Holds lookups of {@code name} (which must end in {@link #SUFFIX}) until {@link #release}. */
  public static void hold(String name) {
    HELD.put(name, new CountDownLatch(1));
  }

  public static void release(String name) {
    HELD.get(name).countDown();
  }

  @Override
  public InetAddressResolver get(Configuration configuration) {
    InetAddressResolver builtin = configuration.builtinResolver();
    return new InetAddressResolver() {
      @Override
      public Stream<InetAddress> lookupByName(String host, LookupPolicy policy) throws UnknownHostException {
        if (!host.endsWith(SUFFIX)) {
          return builtin.lookupByName(host, policy);
        }
        LOOKUPS.computeIfAbsent(host, h -> new AtomicInteger()).incrementAndGet();
        CountDownLatch held = HELD.get(host);
        Duration pause = DELAYS.get(host);
        try {
          if (held == null && !ANSWERS.containsKey(host) || held != null && !held.await(60, TimeUnit.SECONDS)) {
            throw new UnknownHostException(host + ": not released");
          }
          if (pause != null) {
            Thread.sleep(pause);
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new UnknownHostException(host + ": interrupted");
        }
        List<String> ips = ANSWERS.getOrDefault(host, List.of("127.0.0.1"));
        if (ips.isEmpty()) {
          throw new UnknownHostException(host + ": the test's answer is unknown host");
        }
        List<InetAddress> out = new ArrayList<>();
        for (String ip : ips) {
          out.add(InetAddress.getByAddress(host, io.netty.util.NetUtil.createByteArrayFromIpAddressString(ip)));
        }
        return out.stream();
      }

      @Override
      public String lookupByAddress(byte[] addr) throws UnknownHostException {
        return builtin.lookupByAddress(addr);
      }
    };
  }

  @Override
  public String name() {
    return "keelson-held-lookups";
  }
}
