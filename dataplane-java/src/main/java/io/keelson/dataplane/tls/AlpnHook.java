package io.keelson.dataplane.tls;

import io.netty.channel.ChannelPipeline;
import java.util.Set;

/**
 * What a TLS listener does when ALPN picks a protocol other than HTTP/1.1. The default is
 * {@code http2/Http2AlpnHook} (serves {@code h2}); {@link #register} replaces it before the config is
 * loaded, e.g. with {@link #H1_ONLY}, under which {@code h2} is not advertised. {@link #install} runs on the connection's event loop. Implementations
 * are thread-safe.
 */
public interface AlpnHook {
  /** ALPN protocols (besides http/1.1) this hook can serve; the listener advertises only these. */
  Set<String> protocols();

  /**
   * After the handshake chose {@code protocol}: replace the HTTP/1.1 handler (the last handler of the
   * pipeline, named {@link TlsPipeline#HTTP_HANDLER}) with one that speaks {@code protocol}. No
   * application bytes have reached the HTTP/1.1 handler yet.
   */
  void install(ChannelPipeline pipeline, String protocol, String listenerName);

  /** HTTP/1.1 only: advertises nothing else. */
  AlpnHook H1_ONLY = new AlpnHook() {
    @Override
    public Set<String> protocols() {
      return Set.of();
    }

    @Override
    public void install(ChannelPipeline pipeline, String protocol, String listenerName) {
      throw new IllegalStateException("no handler for ALPN protocol " + protocol);
    }
  };

  /** Installs the process-wide hook (call before loading config). */
  static void register(AlpnHook hook) {
    AlpnHooks.current = hook;
  }

  static AlpnHook current() {
    return AlpnHooks.current;
  }
}

/** Holder of the registered hook. */
final class AlpnHooks {
  /** HTTP/2 by default; {@link AlpnHook#register} replaces it (tests register {@link AlpnHook#H1_ONLY}). */
  static volatile AlpnHook current = io.keelson.dataplane.http2.Http2AlpnHook.INSTANCE;

  private AlpnHooks() {}
}
