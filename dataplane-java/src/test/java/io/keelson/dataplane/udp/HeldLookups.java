package io.keelson.dataplane.udp;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.net.spi.InetAddressResolver;
import java.net.spi.InetAddressResolverProvider;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The JDK's name resolver for the test JVM (registered as its {@link InetAddressResolverProvider}): names ending in
 * {@value #SUFFIX} answer 127.0.0.1 only once a test releases them (a slow DNS server, held as long as the test
 * wants); every other name and address goes to the JDK's built-in resolver, unchanged.
 */
public final class HeldLookups extends InetAddressResolverProvider {
  public static final String SUFFIX = ".held.keelson.test";
  private static final Map<String, CountDownLatch> HELD = new ConcurrentHashMap<>();

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
        CountDownLatch held = HELD.get(host);
        try {
          if (held == null || !held.await(60, TimeUnit.SECONDS)) {
            throw new UnknownHostException(host + ": not released");
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new UnknownHostException(host + ": interrupted");
        }
        return Stream.of(InetAddress.getByAddress(host, new byte[] {127, 0, 0, 1}));
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
