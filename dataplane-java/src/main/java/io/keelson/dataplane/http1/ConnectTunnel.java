package io.keelson.dataplane.http1;

import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.RouteAction;
import io.keelson.dataplane.http1.codec.Http1RequestParser;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Envoy's CONNECT termination on HTTP/1.1: a CONNECT request (authority-form target) that the connection manager's
 * upgrade_configs allow ({@code upgrade_type: CONNECT}) and that matched a connect_matcher route whose action has
 * {@code connect_config} gets a raw TCP connection to the route cluster's picked endpoint (never an HTTP exchange,
 * whatever the cluster's protocol), then {@code HTTP/1.1 200 OK} with no framing headers, and from then on both
 * parsers are raw byte pipes, as after a WebSocket 101 ({@link UpgradeTunnel}: the same relay, half-close and
 * backpressure). A connect_matcher route without connect_config proxies the CONNECT instead ({@link #proxies}): the
 * request goes to the cluster (HTTP/1.1, or a CONNECT stream on an HTTP/2 cluster's pooled connections) and its 2xx
 * opens the same pipe. Without CONNECT in upgrade_configs the request
 * is refused with 403, as Envoy does. Stateless.
 */
public final class ConnectTunnel {
  /** The upgrade type of CONNECT in upgrade_configs (lower case). */
  static final String TYPE = "connect";

  /** What the client gets once the upstream connection is up: no Content-Length, no chunking (RFC 9110 §9.3.6). */
  private static final ByteBuffer OK_200 =
      ByteBuffer.wrap("HTTP/1.1 200 OK\r\n\r\n".getBytes(StandardCharsets.US_ASCII)).asReadOnlyBuffer();

  private ConnectTunnel() {}

  /** The connection manager's upgrade_configs allow CONNECT (Envoy answers 403 otherwise). */
  public static boolean allowed(HttpConnectionManagerConfig hcm) {
    return Boolean.TRUE.equals(hcm.upgrades().get(TYPE));
  }

  /** The route terminates CONNECT (its upgrade_configs have CONNECT with connect_config). */
  public static boolean terminates(RouteAction.Forward forward) {
    return Boolean.TRUE.equals(forward.upgrades().get(TYPE));
  }

  /** The route's upgrade_configs disable CONNECT ({@code enabled: false}): Envoy answers 403. */
  public static boolean disabled(RouteAction.Forward forward) {
    return Boolean.FALSE.equals(forward.upgrades().get(TYPE));
  }

  /**
   * The route proxies the CONNECT request to its cluster (a connect_matcher route without connect_config, as Envoy):
   * the request goes upstream, a 2xx answer turns both connections into a raw pipe.
   */
  public static boolean proxies(RouteAction.Forward forward) {
    return !forward.upgrades().containsKey(TYPE);
  }

  /**
   * The upstream connection is up: answers 200 and turns both sides into raw byte pipes. Bytes the client sent behind
   * the CONNECT head (it did not wait for the 200) are delivered to the upstream at once.
   */
  static void open(Channel downstream, UpstreamHandler upstream, Http1RequestParser downstreamParser) {
    upstream.parser().switchToRaw(); // before the first upstream read: every byte is payload
    ByteBuf ok = Unpooled.wrappedBuffer(OK_200.duplicate());
    downstream.writeAndFlush(ok, downstream.voidPromise());
    downstreamParser.switchToRaw();
    downstreamParser.resume();
    UpgradeTunnel.allowHalfClose(downstream, upstream.channel());
  }
}
