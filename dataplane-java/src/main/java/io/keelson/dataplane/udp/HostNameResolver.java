package io.keelson.dataplane.udp;

import io.netty.util.NetUtil;
import io.netty.util.concurrent.EventExecutor;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Resolves a DNS cluster's host names (STRICT_DNS, LOGICAL_DNS) with the JDK's blocking lookup on a small thread pool of
 * its own with a bounded queue, never on an event loop; the answer is handed back on the caller's event loop. An IP
 * literal is answered at once, without a lookup. Thread-safe.
 */
final class HostNameResolver {
  /** Lookups running at once; more wait in the queue. */
  static final int THREADS = 2;
  /** Lookups waiting at most; more are refused (the session opening it fails and is counted). */
  static final int QUEUE = 256;

  private final ThreadPoolExecutor lookups;

  HostNameResolver() {
    lookups = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE), r -> {
      Thread t = new Thread(r, "keelson-udp-dns");
      t.setDaemon(true); // a lookup stuck on a dead resolver must not keep the process alive
      return t;
    });
    lookups.allowCoreThreadTimeOut(true); // no idle threads when no DNS cluster opens sessions
  }

  /** {@code host}'s address if it is an IP literal (no lookup), else null. */
  static InetSocketAddress literal(String host, int port) {
    byte[] ip = NetUtil.createByteArrayFromIpAddressString(host);
    if (ip == null) {
      return null;
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(ip), port);
    } catch (UnknownHostException e) {
      throw new IllegalStateException("an IP literal of " + ip.length + " bytes", e); // 4 or 16: cannot happen
    }
  }

  /**
   * Looks {@code host} up off the event loop; {@code done} gets the address, or {@code failed} the error (an unknown
   * name, a full queue), on {@code loop}.
   */
  void resolve(String host, int port, EventExecutor loop, Consumer<InetSocketAddress> done, Consumer<Exception> failed) {
    try {
      lookups.execute(() -> {
        Runnable answer;
        try {
          InetSocketAddress a = new InetSocketAddress(InetAddress.getByName(host), port);
          answer = () -> done.accept(a);
        } catch (UnknownHostException e) {
          answer = () -> failed.accept(e);
        }
        try {
          loop.execute(answer);
        } catch (RejectedExecutionException e) {
          // the event loop stopped (the proxy closes): its sessions ended with it
        }
      });
    } catch (RejectedExecutionException e) {
      failed.accept(new UnknownHostException(host + ": " + QUEUE + " lookups already waiting"));
    }
  }
}
