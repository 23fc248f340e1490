package io.keelson.dataplane.intercept;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.pipeline.PipelineMode;
import io.keelson.dataplane.testing.ProxyHarness;
import io.keelson.dataplane.testing.TcpEcho;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A tcp_proxy listener behind {@code envoy.filters.listener.proxy_protocol}: a client (a balancer) that sends its PROXY
 * header, its bytes and its FIN in one write still gets its bytes relayed and echoed back, then the FIN (half-close
 * through the listener filter, as without it).
 */
class ProxyProtocolTcpHalfCloseTest {
  @ParameterizedTest
  @EnumSource(value = PipelineMode.class, names = {"INLINE", "DISRUPTOR"})
  void headerBytesAndFinInOneWriteAreRelayedAndEchoed(PipelineMode mode) throws Exception {
    try (TcpEcho echo = new TcpEcho();
        ProxyHarness proxy = new ProxyHarness(ProxyHarness.listener("tcp", """
                - name: envoy.filters.listener.proxy_protocol
                  typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.listener.proxy_protocol.v3.ProxyProtocol }
            """, """
                - filters:
                  - name: envoy.filters.network.tcp_proxy
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
                      stat_prefix: echo
                      cluster: echo
            """, ProxyHarness.cluster("echo", "ROUND_ROBIN", echo.port())), mode)) {
      int port = proxy.server.listenerAddress("tcp").getPort();
      for (int round = 0; round < 5; round++) {
        try (Socket s = new Socket("127.0.0.1", port)) {
          s.setSoTimeout(15_000);
          s.getOutputStream().write("PROXY TCP4 203.0.113.7 198.51.100.1 40000 5432\r\nhello, echo"
              .getBytes(StandardCharsets.US_ASCII));
          s.shutdownOutput();
          String back = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
          assertThat(back).as("round %d", round).isEqualTo("hello, echo");
        }
      }
    }
  }
}
