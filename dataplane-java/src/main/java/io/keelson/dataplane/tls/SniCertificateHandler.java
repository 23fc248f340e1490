package io.keelson.dataplane.tls;

import io.keelson.dataplane.config.SniCertificate;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.ssl.AbstractSniHandler;
import io.netty.util.concurrent.Future;
import java.util.List;

/**
 * TLS termination whose certificate is chosen by the ClientHello's server name: reads the ClientHello
 * without consuming it (Netty's bounded parser), picks the SNI-selected chain's context, and replaces
 * itself with that context's TLS handler, named {@link TlsPipeline#TLS_HANDLER}; a chain with a connection
 * manager of its own is announced to the handlers after it as a user event (the {@link SniCertificate}
 * itself), so the HTTP handler serves the connection with that chain's routes. A name no chain
 * matches (and no chain without server_names) closes the connection, as Envoy's "no filter chain
 * match". Per connection, event-loop confined.
 */
final class SniCertificateHandler extends AbstractSniHandler<SniCertificate> {
  /** Envoy's tls_inspector gives up after 15 s without a complete ClientHello. */
  static final long CLIENT_HELLO_TIMEOUT_MS = 15_000;

  private final List<SniCertificate> certificates;

  SniCertificateHandler(List<SniCertificate> certificates) {
    super(CLIENT_HELLO_TIMEOUT_MS);
    this.certificates = certificates;
  }

  @Override
  protected Future<SniCertificate> lookup(ChannelHandlerContext ctx, String hostname) {
    return ctx.executor().newSucceededFuture(SniCertificate.select(certificates, hostname));
  }

  @Override
  protected void onLookupComplete(ChannelHandlerContext ctx, String hostname, Future<SniCertificate> future) {
    SniCertificate chosen = future.getNow();
    if (chosen == null) {
      ctx.close();
      return;
    }
    if (chosen.servingName() != null) {
      // The chain runs a connection manager of its own: the HTTP handler serves the connection under its name.
      ctx.fireUserEventTriggered(chosen);
    }
    ctx.pipeline().replace(this, TlsPipeline.TLS_HANDLER, chosen.tls().newHandler(ctx.alloc()));
  }
}
