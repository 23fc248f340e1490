package io.keelson.dataplane.edge;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.HttpConnectionManagerConfig;
import io.keelson.dataplane.config.InternalAddresses;
import io.keelson.dataplane.config.RouteConfig;
import io.keelson.dataplane.rbac.CidrRange;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link DownstreamAddress}'s decisions on one header map, for the cases the socket tests do not reach: skip_xff_append,
 * two trusted hops, an IPv6 x-forwarded-for address in the log, a malformed entry, preserve_external_request_id.
 */
class DownstreamAddressTest {
  /** A header map as a LinkedHashMap (one value per name). */
  private static final HeaderAccess<Map<String, String>> MAP = new HeaderAccess<>() {
    @Override
    public String getAll(Map<String, String> h, String name) {
      return h.get(name);
    }

    @Override
    public boolean contains(Map<String, String> h, String name) {
      return h.containsKey(name);
    }

    @Override
    public boolean containsPrefix(Map<String, String> h, String prefix) {
      return h.keySet().stream().anyMatch(n -> n.startsWith(prefix));
    }

    @Override
    public void set(Map<String, String> h, String name, String value) {
      h.put(name, value);
    }

    @Override
    public void remove(Map<String, String> h, String name) {
      h.remove(name);
    }
  };

  private static final InternalAddresses TEN = new InternalAddresses(false, List.of(CidrRange.of("10.0.0.0", 8)));

  private static HttpConnectionManagerConfig.Builder hcm() {
    return HttpConnectionManagerConfig.builder("t", new RouteConfig("r", List.of(), null, null));
  }

  private static Map<String, String> headers(String... kv) {
    Map<String, String> h = new LinkedHashMap<>();
    for (int i = 0; i < kv.length; i += 2) {
      h.put(kv[i], kv[i + 1]);
    }
    return h;
  }

  private final DownstreamAddress peer = new DownstreamAddress(new InetSocketAddress("10.1.1.1", 40000));

  @Test
  void skipXffAppendLeavesXForwardedForAsItCame() {
    Map<String, String> h = headers();
    peer.apply(h, MAP, hcm().useRemoteAddress(true).skipXffAppend(true).internalAddresses(TEN).build(), false);
    assertThat(h).doesNotContainKey("x-forwarded-for").containsEntry("x-envoy-internal", "true");
    assertThat(peer.internal()).isTrue();
    assertThat(peer.remoteAddressForLog("10.1.1.1:40000")).isEqualTo("10.1.1.1:40000");
  }

  @Test
  void twoTrustedHopsSkipTheLastEntry() {
    Map<String, String> h = headers("x-forwarded-for", "198.51.100.1, 203.0.113.5 , 10.9.9.9");
    peer.apply(h, MAP, hcm().useRemoteAddress(true).xffNumTrustedHops(2).internalAddresses(TEN).build(), true);
    assertThat(peer.address()).isEqualTo("203.0.113.5");
    assertThat(h).containsEntry("x-envoy-external-address", "203.0.113.5")
        .containsEntry("x-forwarded-for", "198.51.100.1, 203.0.113.5 , 10.9.9.9,10.1.1.1")
        .containsEntry("x-forwarded-proto", "https");
    assertThat(peer.remoteAddressForLog("10.1.1.1:40000")).isEqualTo("203.0.113.5:0");
  }

  @Test
  void anIpv6EntryIsLoggedInBracketsAndAMalformedOneFallsBackToThePeer() {
    HttpConnectionManagerConfig config = hcm().internalAddresses(TEN).build();
    peer.apply(headers("x-forwarded-for", "2001:db8::7"), MAP, config, false);
    assertThat(peer.remoteAddressForLog("10.1.1.1:40000")).isEqualTo("[2001:db8::7]:0");
    assertThat(peer.internal()).isFalse();
    Map<String, String> h = headers("x-forwarded-for", "10.0.0.1:8080", "x-envoy-retry-on", "5xx");
    peer.apply(h, MAP, config, false);
    assertThat(peer.address()).as("not an address literal: the peer, for logs").isEqualTo("10.1.1.1");
    assertThat(peer.internal()).as("and not internal, though the peer is").isFalse();
    assertThat(h).doesNotContainKey("x-envoy-retry-on");
  }

  @Test
  void anEdgeRequestsIdIsReplacedUnlessPreserved() {
    Map<String, String> h = headers("x-request-id", "mine");
    peer.apply(h, MAP, hcm().useRemoteAddress(true).build(), false);
    assertThat(h).doesNotContainKey("x-request-id"); // generated when forwarded
    h = headers("x-request-id", "mine");
    peer.apply(h, MAP, hcm().useRemoteAddress(true).preserveExternalRequestId(true).build(), false);
    assertThat(h).containsEntry("x-request-id", "mine");
    h = headers("x-request-id", "mine");
    peer.apply(h, MAP, hcm().build(), false);
    assertThat(h).as("not an edge request (no use_remote_address)").containsEntry("x-request-id", "mine");
  }
}
