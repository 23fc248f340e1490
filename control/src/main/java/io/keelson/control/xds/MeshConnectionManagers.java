package io.keelson.control.xds;

import io.envoyproxy.envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager;

/**
 * Where every HTTP connection manager of a sidecar (inbound and outbound) or gateway starts, with what istiod's
 * {@code buildHTTPConnectionManager} gives them all: {@code upgrade_configs: [{upgrade_type: websocket}]}, so a WebSocket
 * (HTTP/1.1 Upgrade) crosses the mesh. Not {@code http2_protocol_options.allow_connect}: istiod sets that only on
 * ambient HBONE listeners, so (as with Istio) a WebSocket to a service port whose sidecar hop is HTTP/2 (GRPC, HTTP2,
 * {@code h2UpgradePolicy: UPGRADE}) is not carried. Proxyless gRPC API listeners do not start here (istiod's gRPC
 * generator sets no upgrades). Paths are normalized at Istio's default level, BASE ({@code normalize_path: true},
 * escaped slashes kept: {@link PathNormalizationLevel}); another meshConfig level is applied to the translated listeners
 * by the xDS server. Stateless.
 */
final class MeshConnectionManagers {
  static final HttpConnectionManager.UpgradeConfig WEBSOCKET = HttpConnectionManager.UpgradeConfig.newBuilder()
      .setUpgradeType("websocket").build();

  private MeshConnectionManagers() {}

  /** A new connection manager builder allowing WebSocket upgrades, its paths normalized at Istio's default level. */
  static HttpConnectionManager.Builder newBuilder() {
    return PathNormalizationLevel.DEFAULT.applyTo(HttpConnectionManager.newBuilder().addUpgradeConfigs(WEBSOCKET));
  }
}
