package io.keelson.dataplane.http2;

import static io.keelson.dataplane.testing.Allocations.bytesPerCall;
import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.stats.IstioMetricsConfig;
import io.keelson.dataplane.stats.IstioTagExpression;
import io.keelson.dataplane.stats.PeerExchange;
import io.keelson.dataplane.stats.StatsRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * ObservabilityAllocationTest's tag overrides on an HTTP/2 stream's headers (Netty's, read through
 * {@link NettyHeaderAccess}), with the connection's addresses: a value seen before allocates nothing per request but
 * one small iterator per header present (Netty's headers tell a repeated name no other way).
 */
class Http2ObservabilityAllocationTest {
  @Test
  void tagOverridesOnHttp2HeadersWithPortAndSourceAddressAllocateNothingForAValueSeenBefore() {
    StatsRegistry stats = new StatsRegistry();
    Map<String, IstioTagExpression> dims = new LinkedHashMap<>();
    dims.put("team", IstioTagExpression.parse("request.headers['x-team']"));
    dims.put("absent", IstioTagExpression.parse("request.headers['x-absent']"));
    dims.put("port", IstioTagExpression.parse("destination.port"));
    dims.put("src", IstioTagExpression.parse("source.address"));
    IstioMetricsConfig metrics = stats.istioMetrics(List.of(new IstioMetricsConfig.Override("", false, List.of(), dims)));
    PeerExchange exchange = new PeerExchange(stats);
    var a = new DefaultHttpHeaders().add("host", "reviews").add("x-team", "a");
    var b = new DefaultHttpHeaders().add("host", "ratings").add("x-team", "b");
    InetSocketAddress remote = new InetSocketAddress("10.0.0.7", 43210); // one connection: one address object
    InetSocketAddress local = new InetSocketAddress("10.0.0.9", 9080);
    long[] n = {0};
    double perRequest = bytesPerCall(() -> {
      n[0]++;
      exchange.onRequestTags(metrics, NettyHeaderAccess.INSTANCE, (n[0] & 1) == 0 ? a : b, "GET", "/r", remote, local);
    });
    assertThat(perRequest).as("bytes per evaluated HTTP/2 request: x-team's iterator only").isLessThan(48.0);
    assertThat(NettyHeaderAccess.INSTANCE.getAll(new DefaultHttpHeaders().add("x", "1").add("x", "2"), "x"))
        .as("repeated values still joined").isEqualTo("1,2");
  }
}
