package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.server.ProxyOptions;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * {@code consistentHash.useSourceIp} for a TCP destination over the wire: a Gateway API gateway's TCP listener relays
 * to three TCP echo instances of one registry Service. Without the rule one client's connections are spread over them
 * (round robin); with it (tcp_proxy hash_policy source_ip over a ring hash cluster) every connection from one source
 * address reaches one instance, and clients from several loopback addresses land on more than one.
 */
class TcpSourceIpHashEndToEndTest {
  @Test
  void oneClientsConnectionsStayOnOneInstance() throws Exception {
    int tcp = IngressGatewayTest.freePort();
    try (ControlPlane cp = ControlPlane.start(new ControlPlane.Options("127.0.0.1", 0, 0, null, null, 15001));
        SidecarTcpAuthorizationTest.TcpEcho a = new SidecarTcpAuthorizationTest.TcpEcho();
        SidecarTcpAuthorizationTest.TcpEcho b = new SidecarTcpAuthorizationTest.TcpEcho();
        SidecarTcpAuthorizationTest.TcpEcho c = new SidecarTcpAuthorizationTest.TcpEcho();
        Sidecar gateway = Sidecar.start(SidecarBootstrap.gateway("127.0.0.1", cp.xds.port(), "edge",
            Map.of("gateway.networking.k8s.io/gateway-name", "edge"), "127.0.0.1", "127.0.0.1", 0),
            ProxyOptions.defaults().withConcurrency(1), Duration.ofMillis(500))) {
      List<SidecarTcpAuthorizationTest.TcpEcho> echoes = List.of(a, b, c);
      cp.store.apply(PolicyParser.parse("edge.yaml", """
          apiVersion: keelson.io/v1alpha1
          kind: Service
          metadata: { name: tcp-echo }
          spec: { ports: [ { name: tcp, port: 9000, protocol: TCP } ] }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Workload
          metadata: { name: tcp-echo-a }
          spec: { service: tcp-echo, address: 127.0.0.1, port: %2$d }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Workload
          metadata: { name: tcp-echo-b }
          spec: { service: tcp-echo, address: 127.0.0.1, port: %3$d }
          ---
          apiVersion: keelson.io/v1alpha1
          kind: Workload
          metadata: { name: tcp-echo-c }
          spec: { service: tcp-echo, address: 127.0.0.1, port: %4$d }
          ---
          apiVersion: gateway.networking.k8s.io/v1
          kind: Gateway
          metadata: { name: edge }
          spec:
            gatewayClassName: keelson
            listeners: [ { name: tcp, port: %1$d, protocol: TCP } ]
          ---
          apiVersion: gateway.networking.k8s.io/v1alpha2
          kind: TCPRoute
          metadata: { name: echo }
          spec:
            parentRefs: [ { name: edge, sectionName: tcp } ]
            rules: [ { backendRefs: [ { name: tcp-echo, port: 9000 } ] } ]
          """.formatted(tcp, a.port(), b.port(), c.port())).policies(), false);
      await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
          .until(() -> instancesReached(echoes, tcp, "127.0.0.1", 6).size() == 3);

      cp.store.apply(PolicyParser.parse("dr.yaml", """
          apiVersion: networking.istio.io/v1
          kind: DestinationRule
          metadata: { name: tcp-echo }
          spec:
            host: tcp-echo
            trafficPolicy: { loadBalancer: { consistentHash: { useSourceIp: true } } }
          """).policies(), false);
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
          .until(() -> instancesReached(echoes, tcp, "127.0.0.1", 6).size() == 1);
      Set<Integer> overall = new HashSet<>();
      for (int host = 1; host <= 12; host++) {
        Set<Integer> reached = instancesReached(echoes, tcp, "127.0.0." + host, 6);
        assertThat(reached).as("client 127.0.0.%d's 6 connections", host).hasSize(1);
        overall.addAll(reached);
      }
      assertThat(overall).as("12 client addresses over a ring of three instances").hasSizeGreaterThanOrEqualTo(2);
    }
  }

  /** Which echo instances (by index) accepted {@code n} echoed connections made one after the other from {@code from}. */
  private static Set<Integer> instancesReached(List<SidecarTcpAuthorizationTest.TcpEcho> echoes, int port, String from,
      int n) throws Exception {
    Set<Integer> reached = new HashSet<>();
    for (int i = 0; i < n; i++) {
      int[] before = echoes.stream().mapToInt(SidecarTcpAuthorizationTest.TcpEcho::accepted).toArray();
      try (Socket s = new Socket()) {
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(5_000);
        s.getOutputStream().write("x\n".getBytes(StandardCharsets.US_ASCII));
        InputStream in = s.getInputStream();
        StringBuilder line = new StringBuilder();
        for (int ch; (ch = in.read()) >= 0 && ch != '\n'; ) {
          line.append((char) ch);
        }
        assertThat(line.toString()).isEqualTo("hello x");
      }
      for (int e = 0; e < echoes.size(); e++) {
        if (echoes.get(e).accepted() > before[e]) {
          reached.add(e);
        }
      }
    }
    return reached;
  }
}
