package io.keelson.dataplane.server;

import io.keelson.dataplane.pipeline.PipelineFactory;
import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.tls.offload.TlsOffloadMode;
import io.keelson.dataplane.transport.Transport;
import java.time.Duration;

/**
 * How a proxy process runs (not what it routes: that is the snapshot). Immutable.
 *
 * @param concurrency  event loops (Envoy's --concurrency)
 * @param adminHost    admin listener address; null disables the admin listener
 * @param adminPort    admin port (0 = ephemeral)
 * @param tlsOffload   kernel TLS offload: off (never probe), auto (where the kernel allows), require (refuse to start
 *                     without it)
 * @param drainTime    how long shutdown waits for in-flight requests, and how long the connections of a listener
 *                     an update removed or replaced may stay open (those still open then are closed)
 * @param awaitsXds    the bootstrap has dynamic_resources: the proxy is not live until an xDS client is attached and
 *                     has its first configuration in service (Envoy's init manager), whatever its static listeners
 */
public record ProxyOptions(
    Transport transport,
    int concurrency,
    PipelineMode pipeline,
    int ringSize,
    String adminHost,
    int adminPort,
    Duration drainTime,
    TlsOffloadMode tlsOffload,
    boolean awaitsXds) {

  public static final String DEFAULT_ADMIN_HOST = "127.0.0.1";
  public static final int DEFAULT_ADMIN_PORT = 9901;

  /**
   * Defaults: best transport, one event loop per core, inline pipeline, admin on 127.0.0.1:9901, kernel TLS
   * offload where available.
   */
  public static ProxyOptions defaults() {
    return new ProxyOptions(
        Transport.select("auto"),
        Runtime.getRuntime().availableProcessors(),
        PipelineMode.INLINE,
        PipelineFactory.DEFAULT_RING_SIZE,
        DEFAULT_ADMIN_HOST,
        DEFAULT_ADMIN_PORT,
        Duration.ofSeconds(5),
        TlsOffloadMode.AUTO,
        false);
  }

  public ProxyOptions withConcurrency(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("--concurrency must be at least 1, got " + n);
    }
    return new ProxyOptions(transport, n, pipeline, ringSize, adminHost, adminPort, drainTime, tlsOffload, awaitsXds);
  }

  public ProxyOptions withTransport(Transport t) {
    return new ProxyOptions(t, concurrency, pipeline, ringSize, adminHost, adminPort, drainTime, tlsOffload, awaitsXds);
  }

  public ProxyOptions withPipeline(PipelineMode p) {
    return new ProxyOptions(transport, concurrency, p, ringSize, adminHost, adminPort, drainTime, tlsOffload, awaitsXds);
  }

  public ProxyOptions withAdmin(String host, int port) {
    return new ProxyOptions(transport, concurrency, pipeline, ringSize, host, port, drainTime, tlsOffload, awaitsXds);
  }

  public ProxyOptions withTlsOffload(TlsOffloadMode mode) {
    return new ProxyOptions(transport, concurrency, pipeline, ringSize, adminHost, adminPort, drainTime, mode, awaitsXds);
  }

  public ProxyOptions withDrainTime(Duration d) {
    return new ProxyOptions(transport, concurrency, pipeline, ringSize, adminHost, adminPort, d, tlsOffload, awaitsXds);
  }

  /** {@code true} when the bootstrap has dynamic_resources (see {@link #awaitsXds}). */
  public ProxyOptions withAwaitsXds(boolean awaits) {
    return new ProxyOptions(transport, concurrency, pipeline, ringSize, adminHost, adminPort, drainTime, tlsOffload,
        awaits);
  }
}
