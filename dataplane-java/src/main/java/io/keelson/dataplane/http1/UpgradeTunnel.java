package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.http2.Http1OverHttp2;
import io.keelson.dataplane.http1.codec.Http1Headers;
import io.keelson.dataplane.http1.codec.Http1Request;
import io.keelson.dataplane.http1.codec.Http1RequestParser;
import io.keelson.dataplane.http1.codec.Http1Response;
import io.keelson.dataplane.http1.codec.Http1ResponseParser;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.socket.DuplexChannel;
import java.util.Locale;

/**
 * HTTP/1.1 Upgrade (WebSocket) the way Envoy does it: an Upgrade whose type is in the connection
 * manager's upgrade_configs (and not disabled by the route) is forwarded with its Upgrade headers;
 * any other type is refused with 403, except {@code h2c}, which is stripped. On the upstream's 101
 * both connections' parsers switch to raw mode, so every later byte is relayed untouched by the
 * exchange's own handlers (with their backpressure). A FIN from either side is passed on as a
 * shutdownOutput toward the other once what was read before it is written (Envoy propagates half-close
 * through an upgraded stream, as tcp_proxy does); the tunnel ends when both directions are done, or when
 * either side closes outright. Stateless.
 */
public final class UpgradeTunnel {
  /** {@link #check} result: answer 403, as Envoy does for an upgrade it is not configured for. */
  static final String REFUSED = "\0refused";

  private UpgradeTunnel() {}

  /**
   * The Upgrade header value to forward when this upgrade is permitted, {@link #REFUSED} when it is
   * not, or null when the request goes on as a plain request (no Upgrade, or h2c).
   */
  static String check(Http1Request request, HttpConnectionManagerConfig hcm, RouteAction.Forward forward) {
    String value = request.header("upgrade");
    if (value == null) {
      return null;
    }
    String type = value.trim().toLowerCase(Locale.ROOT);
    if (type.equals("h2c")) {
      return null; // Envoy's HTTP/1.1 codec drops h2c upgrades and serves the request as HTTP/1.1
    }
    return permitted(type, hcm, forward) ? value.trim() : REFUSED;
  }

  /**
   * Whether an upgrade of {@code type} (lower case) may go through, as Envoy decides: the connection manager's
   * upgrade_configs must have it, and the route's own entry for it (if any) overrides whether it is enabled. Shared
   * with HTTP/2's extended CONNECT (RFC 8441).
   */
  public static boolean permitted(String type, HttpConnectionManagerConfig hcm, RouteAction.Forward forward) {
    Boolean hcmEnabled = hcm.upgrades().get(type);
    if (hcmEnabled == null) {
      return false;
    }
    Boolean routeEnabled = forward.upgrades().get(type);
    return routeEnabled != null ? routeEnabled : hcmEnabled;
  }

  /** Puts back the hop-by-hop headers the upgrade needs (ForwardingHeaders removed them). */
  static void restoreRequestHeaders(Http1Request request, String upgrade) {
    restoreUpgradeHeaders(request.headers(), upgrade);
  }

  /** Puts back the hop-by-hop headers of an upgrade request or of its 101 (the forwarding rules removed them). */
  static void restoreUpgradeHeaders(Http1Headers h, String upgrade) {
    h.set("connection", "upgrade");
    h.set("upgrade", upgrade);
  }

  /**
   * Writes the upstream's 101 (its Sec-WebSocket-* and other fields, the route's response headers, Connection/Upgrade
   * put back) and
   * turns both parsers into raw byte pipes; bytes already buffered behind the request head (a client
   * that did not wait for the 101) are delivered at once.
   */
  static void switchProtocols(Channel downstream, Http1Response response, Channel upstream,
      Http1ResponseParser upstreamParser, Http1RequestParser downstreamParser) {
    ByteBuf head = downstream.alloc().ioBuffer(256 + response.headers().size() * 32);
    response.encodeTo(head);
    downstream.write(head, downstream.voidPromise());
    upstreamParser.switchToRaw(); // the rest of this read and all later reads: onBody, untouched
    downstreamParser.switchToRaw();
    downstreamParser.resume();
    allowHalfClose(downstream, upstream);
  }

  /**
   * From now on a FIN on either connection arrives as a ChannelInputShutdownEvent instead of closing it
   * ({@link #passFin}). Where both are sockets (TLS or not: under TLS the FIN passed on goes behind a
   * close_notify), or the upstream is an HTTP/2 cluster's tunnel stream (END_STREAM is its FIN, both ways).
   */
  static void allowHalfClose(Channel downstream, Channel upstream) {
    if (downstream instanceof DuplexChannel
        && (upstream instanceof DuplexChannel || Http1OverHttp2.isTunnelStream(upstream))) {
      downstream.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
      if (upstream instanceof DuplexChannel) {
        upstream.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
      }
    }
  }

  /**
   * {@code from} sent its FIN: shut {@code to}'s output once everything read from {@code from} so far is
   * written (as tcp/TcpRelay does), behind a close_notify when {@code to} is TLS, or as END_STREAM when {@code to} is an
   * HTTP/2 tunnel stream. When the other direction is already done ({@code from}'s output is shut), the tunnel is over
   * and both close. Event-loop confined (both connections share the loop).
   */
  static void passFin(Channel from, Channel to) {
    if (Http1OverHttp2.isTunnelStream(to) && to.isActive()) {
      Http1OverHttp2.endTunnelOutput(to);
      if (outputShut(from)) {
        from.close(); // both directions finished
        to.close();
      }
      return;
    }
    if (!(to instanceof DuplexChannel) || !to.isActive()) {
      from.close();
      return;
    }
    io.keelson.dataplane.tls.TlsHalfClose.shutdownOutput(to).addListener(shut -> {
      if (!shut.isSuccess() || outputShut(from)) {
        from.close(); // both directions finished
        to.close();
      }
    });
  }

  private static boolean outputShut(Channel ch) {
    return ch instanceof DuplexChannel d ? d.isOutputShutdown() : Http1OverHttp2.tunnelOutputEnded(ch);
  }
}
