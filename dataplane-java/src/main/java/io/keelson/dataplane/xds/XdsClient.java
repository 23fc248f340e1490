package io.keelson.dataplane.xds;

import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.keelson.dataplane.config.ProxySnapshot;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data plane's xDS client: one ADS stream (state of the world or delta, by config) to the
 * control plane, whose accepted resources become {@link ProxySnapshot}s handed to a consumer.
 * A response is ACKed or NACKed with the translator's error; a snapshot is published only when
 * complete and valid; a lost stream is reopened with exponential backoff and jitter, and the last
 * accepted config stays in force meanwhile. All state lives on one thread ({@code keelson-xds}, also
 * the gRPC channel's executor); the consumer is called on it and must not block. {@link #stats()}
 * and {@link #lastSnapshot()} may be called from any thread.
 */
public final class XdsClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(XdsClient.class);

  private final XdsClientConfig config;
  private final XdsResourceCache cache;
  private final Backoff backoff;
  private final ScheduledExecutorService executor;
  private final ManagedChannel channel;
  private final AggregatedDiscoveryServiceGrpc.AggregatedDiscoveryServiceStub stub;

  /**
   * Envoy's default {@code initial_fetch_timeout}: how long start-up waits for the first complete configuration before
   * the proxy goes live without it ({@code -Dkeelson.xds.initialFetchTimeoutMillis} changes it).
   */
  static final java.time.Duration INITIAL_FETCH_TIMEOUT =
      java.time.Duration.ofMillis(Long.getLong("keelson.xds.initialFetchTimeoutMillis", 15_000));

  private volatile XdsStats stats = XdsStats.initial();
  private volatile XdsWarming warming = XdsWarming.NONE;
  private volatile boolean initialized;
  private volatile ProxySnapshot lastSnapshot;
  // Owner-thread state.
  private AdsStream stream;
  private ScheduledFuture<?> reconnect;
  private boolean streamDelivered;
  private boolean closed;

  private XdsClient(XdsClientConfig config, SnapshotInstaller installer) {
    this.config = config;
    this.cache = new XdsResourceCache(config.staticResources(), config.http2Defaults(), config.dnsResolver(),
        installer);
    this.cache.localSecrets = config.localSecrets();
    this.backoff = new Backoff(config.initialBackoff(), config.maxBackoff());
    ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "keelson-xds");
      t.setDaemon(true);
      return t;
    });
    ex.setRemoveOnCancelPolicy(true);
    this.executor = ex;
    this.cache.warmOn((after, task) -> {
      ScheduledFuture<?> f = executor.schedule(() -> {
        if (!closed) {
          task.run();
        }
      }, after.toNanos(), TimeUnit.NANOSECONDS);
      return () -> f.cancel(false);
    }, this::onFetchTimeout);
    this.channel = config.credentials().apply(NettyChannelBuilder.forAddress(config.host(), config.port()))
        .executor(executor)
        .build();
    this.stub = AggregatedDiscoveryServiceGrpc.newStub(channel);
  }

  /**
   * Connects to the control plane and starts subscribing; returns at once. Each complete, valid set
   * of resources is passed to {@code consumer} (e.g. {@code ProxyServer::update}) on the xDS thread.
   */
  public static XdsClient start(XdsClientConfig config, Consumer<ProxySnapshot> consumer) {
    Objects.requireNonNull(consumer);
    return startInstalling(config, snapshot -> {
      try {
        consumer.accept(snapshot);
      } catch (RuntimeException e) {
        LOG.error("the snapshot consumer failed on xDS snapshot {}", snapshot.version(), e);
      }
    });
  }

  /**
   * Like {@link #start(XdsClientConfig, Consumer)}, but each snapshot is installed <em>before</em>
   * the update is ACKed, and an installer's refusal (e.g. a listener that cannot bind) NACKs it with
   * the reason; the last accepted config stays in force.
   */
  public static XdsClient startInstalling(XdsClientConfig config, SnapshotInstaller installer) {
    XdsClient client = new XdsClient(Objects.requireNonNull(config), Objects.requireNonNull(installer));
    client.executor.execute(client::openStream);
    client.executor.schedule(client::initialFetchTimedOut, INITIAL_FETCH_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
    return client;
  }

  /** Counters and connection state, for the admin page. */
  public XdsStats stats() {
    return stats;
  }

  /** The accepted clusters and listeners still warming (waiting for their SDS secrets), for the admin pages. */
  public XdsWarming warming() {
    return warming;
  }

  /**
   * Envoy's initialization: true once the first complete configuration is in service with none of its clusters and
   * listeners still warming (each warms until its secrets arrive or their initial_fetch_timeout passes), or once
   * {@link #INITIAL_FETCH_TIMEOUT} passed without a first configuration. Never false again.
   */
  public boolean initialized() {
    return initialized;
  }

  /** Start-up gave the first configuration its initial fetch time: the proxy goes live on what it has. */
  private void initialFetchTimedOut() {
    if (!initialized && lastSnapshot == null) {
      LOG.warn("no complete xDS configuration within {} ms of start; initialization ends without it (as Envoy's"
          + " initial_fetch_timeout)", INITIAL_FETCH_TIMEOUT.toMillis());
      initialized = true;
    }
  }

  /** Publishes the warming set (and what it means for the counters and initialization). Owner thread. */
  private void noteWarming() {
    XdsWarming w = cache.warming();
    warming = w;
    stats = stats.withWarming(w.clusters().size(), w.listeners().size());
    if (lastSnapshot != null && w.isEmpty()) {
      initialized = true;
    }
  }

  /** The last snapshot handed to the consumer, or null before the first. */
  public ProxySnapshot lastSnapshot() {
    return lastSnapshot;
  }

  public XdsClientConfig config() {
    return config;
  }

  private void openStream() {
    if (closed) {
      return;
    }
    reconnect = null;
    streamDelivered = false;
    stream = config.delta() ? new DeltaAdsStream(owner) : new SotwAdsStream(owner);
    stream.open(stub);
  }

  /** What the streams call back into; kept off the public surface. Owner thread only. */
  private final AdsStream.Owner owner = new AdsStream.Owner() {
    @Override
    public Node node() {
      return config.node();
    }

    @Override
    public XdsResourceCache cache() {
      return cache;
    }

    @Override
    public void onOutcome(AdsStream from, ResourceType type, String version, XdsResourceCache.Outcome outcome) {
      XdsClient.this.onOutcome(type, version, outcome);
    }

    @Override
    public void onClosed(AdsStream from, Throwable error) {
      XdsClient.this.onClosed(from, error);
    }

    @Override
    public void afterNackDelay(Runnable task) {
      if (!closed) {
        executor.schedule(task, config.initialBackoff().toNanos(), TimeUnit.NANOSECONDS);
      }
    }
  };

  private void onOutcome(ResourceType type, String version, XdsResourceCache.Outcome outcome) {
    if (!streamDelivered) {
      streamDelivered = true;
      backoff.reset();
      stats = stats.withConnected(true);
    }
    if (!outcome.accepted()) {
      LOG.warn("xDS {} update {} rejected (NACK); keeping the last accepted config:\n{}", type.shortName(), version,
          outcome.error());
      stats = stats.withRejected(type, outcome.error());
      return;
    }
    ProxySnapshot snapshot = outcome.snapshot();
    stats = stats.withAccepted(type, version, snapshot != null);
    if (snapshot != null) {
      lastSnapshot = snapshot; // already installed by the cache, before the ACK
    }
    noteWarming();
  }

  /** A warming cluster's initial fetch deadline passed: the cache put it into service (already installed) or could not. */
  private void onFetchTimeout(XdsResourceCache.Outcome outcome) {
    if (!outcome.accepted()) {
      LOG.warn("clusters whose SDS secrets' initial_fetch_timeout passed could not go into service; keeping the running"
          + " config:\n{}", outcome.error());
      return;
    }
    if (outcome.snapshot() != null) {
      lastSnapshot = outcome.snapshot();
    }
    noteWarming();
  }

  private void onClosed(AdsStream from, Throwable error) {
    if (closed || from != stream) {
      return;
    }
    String why = error == null ? "the control plane closed the stream" : String.valueOf(error.getMessage());
    long delay = backoff.nextDelayNanos();
    stats = stats.withStreamFailure("stream to " + config.host() + ":" + config.port() + " lost: " + why, true);
    LOG.info("xDS stream to {}:{} lost ({}); reconnecting in {} ms, serving the last accepted config meanwhile",
        config.host(), config.port(), why, TimeUnit.NANOSECONDS.toMillis(delay));
    reconnect = executor.schedule(this::openStream, delay, TimeUnit.NANOSECONDS);
  }

  /**
   * Stops the stream and the xDS thread; the last published snapshot stays with the consumer. Call it
   * from any thread but the consumer (it waits for the xDS thread).
   */
  @Override
  public void close() {
    try {
      executor.submit(() -> {
        closed = true;
        if (reconnect != null) {
          reconnect.cancel(false);
        }
        if (stream != null) {
          stream.cancel();
        }
        stats = stats.withConnected(false);
      }).get(5, TimeUnit.SECONDS);
      // The channel delivers its last callbacks on the executor, so the executor outlives it.
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException
        | java.util.concurrent.RejectedExecutionException e) {
      LOG.warn("xDS client did not stop cleanly", e);
      channel.shutdownNow();
    } finally {
      executor.shutdown();
    }
  }
}
