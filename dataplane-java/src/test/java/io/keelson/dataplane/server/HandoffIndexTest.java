package io.keelson.dataplane.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** Envoy's use_original_dst rule: the exact IP:port listener, else the wildcard one of the port, else none. */
class HandoffIndexTest {
  @Test
  void anExactListenerWinsOverTheWildcardOneOfItsPort() {
    HandoffIndex.Builder<String> b = new HandoffIndex.Builder<>();
    b.add("0.0.0.0", 80, "0.0.0.0_80");
    b.add("10.96.0.5", 80, "10.96.0.5_80");
    b.add("::", 9080, "[::]_9080");
    b.add("backend.local", 8080, "by-name"); // no destination is a host name: left out
    HandoffIndex<String> index = b.build();
    assertThat(index.find(new InetSocketAddress("10.96.0.5", 80))).isEqualTo("10.96.0.5_80");
    assertThat(index.find(new InetSocketAddress("10.96.0.6", 80))).isEqualTo("0.0.0.0_80");
    assertThat(index.find(new InetSocketAddress("10.96.0.6", 9080))).isEqualTo("[::]_9080");
    assertThat(index.find(new InetSocketAddress("10.96.0.6", 8080))).isNull();
    assertThat(index.find(null)).isNull();
    assertThat(HandoffIndex.<String>empty().find(new InetSocketAddress("10.96.0.5", 80))).isNull();
  }
}
