/**
 * Active health checking: HTTP, TCP and gRPC probes on their own event loop, per-endpoint
 * {@link io.keelson.dataplane.balance.EndpointHealth} flags the balancers read, and Envoy's panic
 * threshold.
 */
package io.keelson.dataplane.health;
