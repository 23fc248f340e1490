package io.keelson.dataplane.http1;

import io.keelson.dataplane.stats.TlsStats;
import io.keelson.dataplane.tls.ClientTls;
import io.keelson.dataplane.tls.TlsPipeline;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPromise;
import io.netty.handler.ssl.SslHandler;
import java.net.InetSocketAddress;
import javax.net.ssl.SSLException;

/**
 * Connects to a TLS cluster's endpoint: the returned future completes when the TLS handshake has
 * (so a certificate or SAN failure is a connection failure, Envoy's UF), not at TCP connect.
 * Stateless.
 */
public final class UpstreamTlsConnect {
  private UpstreamTlsConnect() {}

  public static ChannelFuture connect(Bootstrap b, InetSocketAddress address, ClientTls tls, TlsStats stats) {
    ChannelFuture tcp = b.connect(address);
    Channel ch = tcp.channel();
    // The TLS handler goes first, before the exchange's handler sees any bytes.
    // HTTP connections of an in-mesh cluster announce HTTP by ALPN (istio-http/1.1, istio-h2).
    ClientTls http = tls.forHttp();
    SslHandler ssl = TlsPipeline.addClient(ch, http, stats, address.getHostString(), address.getPort());
    ChannelPromise done = ch.newPromise();
    tcp.addListener(f -> {
      if (!f.isSuccess()) {
        done.tryFailure(f.cause());
        return;
      }
      TlsPipeline.clientHandshake(ch, ssl, http, stats).addListener(h -> {
        if (h.isSuccess()) {
          done.trySuccess();
        } else {
          done.tryFailure(h.cause());
          ch.close();
        }
      });
    });
    return done;
  }

  /** Envoy's local reply body for a failed connect, with the TLS reason when TLS failed. */
  static String connectFailureBody(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof SSLException) {
        return LocalReply.CONNECT_FAILURE + ", transport failure reason: " + TlsPipeline.failureReason(cause);
      }
    }
    return LocalReply.CONNECT_FAILURE;
  }
}
