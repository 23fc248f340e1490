package io.keelson.dataplane.filter;

import io.keelson.dataplane.config.RouteEntry;
import io.keelson.dataplane.config.VirtualHostConfig;
import io.keelson.dataplane.route.RequestHead;
import java.net.InetSocketAddress;

/**
 * Where a request's filter chain stopped for an external check (ext_authz), as Envoy stops its decoder filters until
 * the check answers: the filters still to run and the inputs they read. Made by {@link FilterChain#run} on the thread
 * that ran the chain (a ring's policy thread or an event loop) and handed, with the verdict, to the connection, which
 * resumes the chain on its event loop once the check allowed the request ({@link FilterChain#resume}). Immutable;
 * one per checked request.
 *
 * Every input field of {@link FilterContext} must be here, or a filter after the check reads it as unset.
 *
 * @param metadata the dynamic metadata the filters before the check left (a verified JWT), or null
 */
record PausedChain(HttpFilter[] rest, int from, RequestHead head, RouteEntry route, VirtualHostConfig virtualHost,
    String remoteIp, boolean remoteIpFromXff, String peerPrincipal, InetSocketAddress remoteAddress,
    InetSocketAddress localAddress, InetSocketAddress peerAddress, String upstreamCluster, DynamicMetadata metadata) {

  static PausedChain of(HttpFilter[] rest, int from, FilterContext c) {
    return new PausedChain(rest, from, c.head, c.route, c.virtualHost, c.remoteIp, c.remoteIpFromXff, c.peerPrincipal,
        c.remoteAddress, c.localAddress, c.peerAddress, c.upstreamCluster, c.metadata);
  }

  /** Puts the inputs back into {@code c}; the head's headers are as the check left them. */
  void restore(FilterContext c) {
    c.head = head;
    c.route = route;
    c.virtualHost = virtualHost;
    c.remoteIp = remoteIp;
    c.remoteIpFromXff = remoteIpFromXff;
    c.peerPrincipal = peerPrincipal;
    c.remoteAddress = remoteAddress;
    c.localAddress = localAddress;
    c.peerAddress = peerAddress;
    c.upstreamCluster = upstreamCluster;
    c.metadata = metadata;
  }
}
