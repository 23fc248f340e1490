package io.keelson.dataplane.tcp;

import io.keelson.dataplane.routing.ServingSnapshot;
import io.keelson.dataplane.stats.StatsRegistry;
import io.keelson.dataplane.transport.Transport;
import java.util.function.Supplier;

/**
 * What tcp_proxy connections share: the current snapshot, the transport for upstream connects and
 * the counters. Immutable and thread-safe.
 */
public record TcpProxyContext(Supplier<ServingSnapshot> snapshot, Transport transport, StatsRegistry stats) {}
