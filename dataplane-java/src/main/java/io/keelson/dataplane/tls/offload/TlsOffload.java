package io.keelson.dataplane.tls.offload;

import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.handler.ssl.ReferenceCountedOpenSslEngine;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.util.EnumMap;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * One proxy process's kernel TLS offload policy: the {@code --tls-offload} mode, the probe's answer, the
 * counters ({@code tls_offload.offloaded}, {@code tls_offload.fallback.<reason>}, gauges
 * {@code tls_offload.kernel_available} and {@code tls_offload.secrets_export}), and the per-connection
 * decision: where both the kernel and the TLS library allow it, a server connection gets a
 * {@link KernelTlsSwitch} in front of its SslHandler; elsewhere it keeps user-space TLS and its fallback reason
 * is counted once its handshake succeeds. Thread-safe; {@link #attach} runs on the connection's event loop.
 */
public final class TlsOffload {
  /** Offload off, nothing probed, nothing counted (tests and tools that build a context without a server). */
  public static final TlsOffload DISABLED = new TlsOffload(TlsOffloadMode.OFF, KernelTlsStatus.NOT_PROBED, null);

  private final TlsOffloadMode mode;
  private final KernelTlsStatus status;
  private final LongAdder offloaded;
  private final Map<FallbackReason, LongAdder> fallbacks = new EnumMap<>(FallbackReason.class);
  private final TrafficSecretLog secrets = new TrafficSecretLog();
  /** BoringSSL contexts that got the key-log callback: true, or false when tcnative refused. */
  private final Map<SslContext, Boolean> prepared = new WeakHashMap<>(); // guarded by itself

  private TlsOffload(TlsOffloadMode mode, KernelTlsStatus status, StatsRegistry stats) {
    this.mode = mode;
    this.status = status;
    if (stats == null) {
      offloaded = new LongAdder();
      for (FallbackReason r : FallbackReason.values()) {
        fallbacks.put(r, new LongAdder());
      }
      return;
    }
    offloaded = stats.counter("tls_offload.offloaded");
    for (FallbackReason r : FallbackReason.values()) {
      fallbacks.put(r, stats.counter("tls_offload.fallback." + r.label));
    }
    stats.gauge("tls_offload.kernel_available").set(status.kernelAvailable() ? 1 : 0);
    stats.gauge("tls_offload.secrets_export").set(status.secretsExport() ? 1 : 0);
  }

  /**
   * The policy for a process starting with {@code mode}: probes (once per process) unless {@code off}, and for
   * {@code require} throws {@link TlsOffloadUnavailableException} with the kernel's (or the library's) answer when
   * offload cannot run here.
   */
  public static TlsOffload start(TlsOffloadMode mode, StatsRegistry stats) {
    if (mode == TlsOffloadMode.OFF) {
      return new TlsOffload(mode, KernelTlsStatus.NOT_PROBED, null);
    }
    KernelTlsStatus s = KernelTlsProbe.status();
    if (mode == TlsOffloadMode.REQUIRE && !s.usable()) {
      java.util.List<String> why = new java.util.ArrayList<>(2);
      if (!s.kernelAvailable()) {
        why.add("the kernel answered setsockopt(TCP_ULP, \"tls\") with " + s.kernelReason());
      }
      if (!s.secretsExport()) {
        why.add("the TLS library: " + s.secretsReason());
      }
      throw new TlsOffloadUnavailableException("--tls-offload require: kernel TLS offload is unavailable: "
          + String.join("; ", why) + " (use --tls-offload auto to fall back to user-space TLS)");
    }
    return new TlsOffload(mode, s, stats);
  }

  /**
   * A policy with a given probe answer, for tests that run the per-connection switch's checks on a kernel without
   * TLS (its setsockopt then fails and the connection stays in user space, counted as {@code setsockopt}).
   */
  static TlsOffload withStatus(TlsOffloadMode mode, KernelTlsStatus status, StatsRegistry stats) {
    return new TlsOffload(mode, status, stats);
  }

  public TlsOffloadMode mode() {
    return mode;
  }

  public KernelTlsStatus status() {
    return status;
  }

  /**
   * Sets a server connection up for offload, after its SslHandler ({@code ssl}, built from {@code context}) was
   * added: adds a {@link KernelTlsSwitch} in front of it and returns null, or returns why this connection will
   * stay in user space (to count at handshake success), or null when offload is off (nothing counted).
   */
  public FallbackReason attach(Channel ch, SslHandler ssl, SslContext context) {
    if (mode == TlsOffloadMode.OFF) {
      return null;
    }
    FallbackReason before = reasonBeforeHandshake(FallbackReason.LISTENER);
    if (before != FallbackReason.LISTENER) {
      return before;
    }
    if (!(ch instanceof EpollSocketChannel)) {
      // NIO has no descriptor. io_uring may have a receive in flight that the kernel fills with ciphertext past
      // the client's Finished before the switch runs; only epoll reads strictly when the pipeline asks.
      return FallbackReason.TRANSPORT;
    }
    if (!(ssl.engine() instanceof ReferenceCountedOpenSslEngine engine) || !prepare(context)) {
      return FallbackReason.TLS_LIBRARY;
    }
    if (engine.getNeedClientAuth() || engine.getWantClientAuth()) {
      return FallbackReason.CLIENT_CERTIFICATE;
    }
    KernelTlsSwitch.install(ch, ssl, engine, this);
    return null;
  }

  /**
   * For connections that are not given a switch (PERMISSIVE and SNI listeners pass {@code shape}): the reason
   * to count at handshake success, or null when offload is off.
   */
  public FallbackReason reasonBeforeHandshake(FallbackReason shape) {
    if (mode == TlsOffloadMode.OFF) {
      return null;
    }
    if (!status.kernelAvailable()) {
      return FallbackReason.KERNEL_UNAVAILABLE;
    }
    if (!status.secretsExport()) {
      return FallbackReason.TLS_LIBRARY;
    }
    return shape;
  }

  private boolean prepare(SslContext context) {
    synchronized (prepared) {
      return prepared.computeIfAbsent(context, c -> secrets.install(c));
    }
  }

  TrafficSecretLog secrets() {
    return secrets;
  }

  /** Counts a connection that stayed in user space; null counts nothing. */
  public void countFallback(FallbackReason reason) {
    if (reason != null) {
      fallbacks.get(reason).increment();
    }
  }

  void countOffloaded() {
    offloaded.increment();
  }

  public long offloaded() {
    return offloaded.sum();
  }

  public long fallbacks(FallbackReason reason) {
    return fallbacks.get(reason).sum();
  }

  /** The {@code tls_offload} object of the admin {@code /server_info} JSON. */
  public String toJson() {
    StringBuilder b = new StringBuilder(512);
    b.append("{\"mode\":\"").append(mode.label()).append('"')
        .append(",\"probed\":").append(status.probed())
        .append(",\"kernel_available\":").append(status.kernelAvailable())
        .append(",\"kernel_errno\":").append(status.errno())
        .append(",\"kernel_reason\":\"").append(json(status.kernelReason())).append('"')
        .append(",\"secrets_export\":").append(status.secretsExport())
        .append(",\"secrets_reason\":\"").append(json(status.secretsReason())).append('"')
        .append(",\"offloaded\":").append(offloaded.sum())
        .append(",\"fallback\":{");
    boolean first = true;
    for (var e : fallbacks.entrySet()) {
      b.append(first ? "" : ",").append('"').append(e.getKey().label).append("\":").append(e.getValue().sum());
      first = false;
    }
    return b.append("}}").toString();
  }

  /** One line for start-up output. */
  public String describe() {
    if (mode == TlsOffloadMode.OFF) {
      return "off (not probed)";
    }
    return mode.label() + ": " + (status.usable() ? "kernel TLS available for TLS 1.3 (not verified on a kernel with TLS)"
        : "unavailable, TLS stays in user space (kernel: " + status.kernelReason() + "; TLS library: "
            + status.secretsReason() + ")");
  }

  private static String json(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.toString();
  }
}
