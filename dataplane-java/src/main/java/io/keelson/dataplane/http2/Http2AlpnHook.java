package io.keelson.dataplane.http2;

import io.keelson.dataplane.config.ListenerConfig;
import io.keelson.dataplane.http1.ProxyContext;
import io.keelson.dataplane.tls.AlpnHook;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.util.AttributeKey;
import java.util.Set;

/**
 * Serves HTTP/2 on a TLS listener whose client chose "h2" by ALPN: replaces the HTTP/1.1 handler
 * with {@link Http2ServerSupport#configure}. The default {@link AlpnHook}. Connections that were not
 * {@link #bind bound} (a tcp_proxy listener terminating TLS) are left as they are. Thread-safe
 * (stateless; install runs on the connection's event loop).
 */
public final class Http2AlpnHook implements AlpnHook {
  public static final Http2AlpnHook INSTANCE = new Http2AlpnHook();

  /** What an HTTP listener's connection needs to switch to HTTP/2. */
  public record Server(ProxyContext context, ListenerConfig listener) {}

  private static final AttributeKey<Server> SERVER = AttributeKey.valueOf("keelson.h2.alpn-server");

  private Http2AlpnHook() {}

  /** Marks {@code ch} as an HTTP listener's connection that may switch to HTTP/2 after its handshake. */
  public static void bind(Channel ch, Server server) {
    ch.attr(SERVER).set(server);
  }

  @Override
  public Set<String> protocols() {
    return Set.of("h2");
  }

  @Override
  public void install(ChannelPipeline pipeline, String protocol, String listenerName) {
    Server s = pipeline.channel().attr(SERVER).getAndSet(null);
    if (s == null || !protocol.equals("h2") || pipeline.get(TlsPipeline.HTTP_HANDLER) == null) {
      return;
    }
    ListenerConfig listener = s.listener();
    String serving = io.keelson.dataplane.http1.Http1ProxyInitializer.servingName(pipeline.channel());
    if (serving != null && !serving.equals(listener.name())) { // an SNI-selected chain with its own connection manager
      var chain = s.context().snapshot().listener(serving);
      if (chain != null) {
        listener = chain.config();
      }
    }
    // The HTTP/1.1 handler saw channelActive and counted the connection; removing it undoes that,
    // and the HTTP/2 connection guard counts it again (its handlerAdded runs on an active channel).
    pipeline.remove(TlsPipeline.HTTP_HANDLER);
    Http2ServerSupport.configure(pipeline, s.context(), listener);
  }
}
