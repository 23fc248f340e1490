package io.keelson.dataplane.tcp;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.balance.XxHash64;
import io.keelson.dataplane.routing.RequestHash;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** tcp_proxy's source-IP hash is an HTTP route's source_ip hash of the same peer (RequestHashTest: the HTTP side). */
class TcpSourceIpHashTest {
  @Test
  void hashesAPeerAsAnHttpSourceIpPolicyDoes() {
    assertThat(TcpProxyHandler.sourceIpHash(new InetSocketAddress("10.1.2.3", 40000)))
        .isEqualTo(RequestHash.ofSourceIp("10.1.2.3"))
        .isEqualTo(XxHash64.hash("10.1.2.3"));
    assertThat(TcpProxyHandler.sourceIpHash(new InetSocketAddress("::1", 40000)))
        .as("the address text, not the port").isEqualTo(TcpProxyHandler.sourceIpHash(new InetSocketAddress("::1", 1)))
        .isEqualTo(RequestHash.ofSourceIp("0:0:0:0:0:0:0:1"));
    assertThat(TcpProxyHandler.sourceIpHash(InetSocketAddress.createUnresolved("peer", 1))).as("no IP").isEqualTo(1);
  }
}
