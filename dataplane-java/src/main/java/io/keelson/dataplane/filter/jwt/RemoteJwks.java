package io.keelson.dataplane.filter.jwt;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * A JWKS fetched from a URI ({@code remote_jwks.http_uri}) and cached: fetched on one shared daemon
 * thread ({@code keelson-jwks}), never on an event loop, when first asked for, then refreshed every
 * {@code cache_duration}; a failed fetch is retried with backoff (0.5 s doubling to 30 s) and keeps the
 * keys it had. Requests read {@link #keys()} (one volatile read): null until a first fetch succeeds.
 * One instance per URI, shared by every config that names it; it stops refreshing (and leaves the
 * shared map) after it has gone unused for twice its cache duration (at least ten minutes), and starts
 * again, serving its last keys meanwhile, when a request reads it. Thread-safe.
 */
final class RemoteJwks {
  private static final ConcurrentHashMap<String, RemoteJwks> SHARED = new ConcurrentHashMap<>();
  private static final ScheduledExecutorService FETCHER = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "keelson-jwks");
    t.setDaemon(true);
    return t;
  });
  private static final HttpClient CLIENT = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).followRedirects(HttpClient.Redirect.NORMAL).build();
  private static final long MIN_IDLE_NANOS = TimeUnit.MINUTES.toNanos(10);

  private final URI uri;
  private final Duration cacheDuration;
  private final Duration timeout;
  private volatile List<Jwk> keys;
  private volatile long lastUsedNanos = System.nanoTime();
  private long backoffMillis = 500;
  private final java.util.concurrent.atomic.AtomicBoolean refreshing = new java.util.concurrent.atomic.AtomicBoolean(true);
  final LongAdder fetched = new LongAdder();
  final LongAdder failed = new LongAdder();

  private RemoteJwks(URI uri, Duration cacheDuration, Duration timeout) {
    this.uri = uri;
    this.cacheDuration = cacheDuration;
    this.timeout = timeout;
  }

  /** The shared cache for {@code uri} (the first caller's durations win), fetching it now if new. */
  static RemoteJwks of(URI uri, Duration cacheDuration, Duration timeout) {
    RemoteJwks[] created = new RemoteJwks[1];
    RemoteJwks r = SHARED.computeIfAbsent(uri.toString(), u -> created[0] = new RemoteJwks(uri, cacheDuration, timeout));
    if (created[0] != null) {
      FETCHER.execute(r::fetch);
    }
    return r;
  }

  /** The current keys, or null while none could be fetched yet. */
  List<Jwk> keys() {
    lastUsedNanos = System.nanoTime();
    if (!refreshing.get() && refreshing.compareAndSet(false, true)) { // idle for long: refresh again
      SHARED.putIfAbsent(uri.toString(), this);
      FETCHER.execute(this::fetch);
    }
    return keys;
  }

  URI uri() {
    return uri;
  }

  /** On the fetcher thread. */
  private void fetch() {
    long idle = Math.max(MIN_IDLE_NANOS, 2 * cacheDuration.toNanos());
    if (System.nanoTime() - lastUsedNanos > idle) {
      refreshing.set(false);
      SHARED.remove(uri.toString(), this);
      return;
    }
    try {
      HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(uri).timeout(timeout).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IllegalStateException("HTTP " + r.statusCode());
      }
      keys = Jwk.parseSet(r.body());
      fetched.increment();
      backoffMillis = 500;
      FETCHER.schedule(this::fetch, cacheDuration.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      failed.increment();
      FETCHER.schedule(this::fetch, backoffMillis, TimeUnit.MILLISECONDS);
      backoffMillis = Math.min(backoffMillis * 2, 30_000);
    }
  }
}
