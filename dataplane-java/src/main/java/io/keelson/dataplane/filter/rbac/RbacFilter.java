package io.keelson.dataplane.filter.rbac;

import io.keelson.dataplane.filter.FilterContext;
import io.keelson.dataplane.filter.HttpFilter;
import io.keelson.dataplane.rbac.HeadRequestView;
import io.keelson.dataplane.rbac.HttpRbacConfig;
import io.keelson.dataplane.rbac.RbacDecision;
import io.keelson.dataplane.stats.ResponseFlag;

/**
 * Enforces an RBAC policy on each request: a denial answers 403 {@code RBAC: access denied}, or for a
 * gRPC request (content-type application/grpc...) a trailers-only {@code grpc-status: 7}
 * (PERMISSION_DENIED). The principal is the verified client certificate's URI SAN. Thread-safe: one
 * reusable request view per thread, evaluation allocates nothing (with shadow_rules, one small metadata
 * object per request: {@link ShadowMetadata}).
 */
final class RbacFilter implements HttpFilter {
  private static final String GRPC_DENIED = "content-type: application/grpc\r\ngrpc-status: "
      + RbacDecision.GRPC_STATUS + "\r\ngrpc-message: " + RbacDecision.HTTP_BODY + "\r\n";
  private final HttpRbacConfig config;
  private final ThreadLocal<HeadRequestView> views = ThreadLocal.withInitial(HeadRequestView::new);

  RbacFilter(HttpRbacConfig config) {
    this.config = config;
  }

  @Override
  public void onRequest(FilterContext context) {
    HeadRequestView view = views.get()
        .connection(context.peerAddress, context.remoteAddress, context.localAddress, context.peerPrincipal != null, context.peerPrincipal,
            null)
        .head(context.head)
        .metadata(context.metadata);
    if (context.remoteIpFromXff) {
      // remote_ip is the downstream address the connection manager chose (Envoy), direct_remote_ip the peer.
      try {
        view.remoteIp(java.net.InetAddress.ofLiteral(context.remoteIp).getAddress());
      } catch (IllegalArgumentException e) {
        // not expected (edge.IpLiteral checked it): remote_ip stays the peer's
      }
    }
    RbacDecision shadow = config.shadowDecision(view);
    RbacDecision d = config.enforce(view);
    view.head(null).metadata(null);
    if (shadow != null) {
      // Envoy's shadow result as dynamic metadata (ext_authz's filter_enabled_metadata reads it, as Istio's CUSTOM does).
      context.metadata = new ShadowMetadata(config.shadowPrefix(), shadow, context.metadata);
    }
    if (d.allowed()) {
      return;
    }
    String ct = context.head.header("content-type");
    if (ct != null && ct.startsWith("application/grpc")) {
      context.localReply(200, "", GRPC_DENIED, ResponseFlag.RBAC);
    } else {
      context.localReply(RbacDecision.HTTP_STATUS, RbacDecision.HTTP_BODY, null, ResponseFlag.RBAC);
    }
  }
}
