package io.keelson.control.sidecar;

import static org.assertj.core.api.Assertions.assertThat;

import static io.keelson.control.sidecar.CapturedMesh.PYTHON;
import static io.keelson.control.sidecar.CapturedMesh.appUser;
import static io.keelson.testkit.Shell.in;
import static io.keelson.testkit.Shell.run;

import io.keelson.testkit.Shell.Result;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.Test;

/**
 * Dual-stack capture end to end: {@code bin/keelson iptables --ipv6} (the same chains in ip6tables, ::6 on lo) and
 * captured sidecars whose virtualOutbound and virtualInbound take IPv6 connections on their dual-stack {@code [::]}
 * sockets, a registry Service with an IPv6 VIP ({@code spec.addresses}) and a ServiceEntry with an IPv6 address.
 * Real processes only, as {@link CapturedMeshTest}, with IPv6 (ULA fd77::/16) on the veths beside IPv4:
 *
 * <pre>
 * client ns (10.77.1.2, fd77:1::2) ── cp ns (routes both families; bin/keelson control) ── server ns (10.77.2.2, fd77:2::2)
 *   curl -6 / getent ahostsv6 as uid 65534, DNS captured to the sidecar's DNS proxy          app on 127.0.0.1:9080, hello on [::]:7000
 * </pre>
 *
 * Shown, with identities (PERMISSIVE mTLS between the sidecars): the app resolves {@code reviews} to its IPv6 VIP
 * through its own resolver (AAAA from the DNS proxy) and {@code curl -6} by name reaches the app through both sidecars
 * over mTLS; a TCP ServiceEntry's IPv6 address is matched by its {@code prefix_ranges} chain to the entry's endpoint;
 * the server's pod address over IPv6 reaches the app through the server sidecar's virtualInbound (IPv6 destination,
 * the app port's chain), and a port with no chain goes through the IPv6 inbound passthrough, from ::6.
 */
class CapturedIpv6MeshTest {
  /** Both families on one socket: an IPv4 peer shows as ::ffff:a.b.c.d. */
  private static final String HELLO_SERVER = """
      import socket
      s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
      s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
      s.bind(("::", 7000)); s.listen(8)
      while True:
          c, peer = s.accept(); c.sendall(("hello from 7000 to " + peer[0] + "\\n").encode()); c.close()
      """;
  private static final String TCP_CLIENT = """
      import socket, sys
      s = socket.create_connection((sys.argv[1], 7000), timeout=5)
      print("got:" + s.recv(100).decode().strip())
      """;
  private static final String VIP = "fd77:99::10";
  private static final String ENTRY_ADDRESS = "fd77:98::20";
  private static final String POLICIES = """
      apiVersion: keelson.io/v1alpha1
      kind: Service
      metadata: { name: reviews }
      spec:
        ports: [ { name: http, port: 9080 } ]
        addresses: [ "VIP" ]
      ---
      apiVersion: networking.istio.io/v1
      kind: ServiceEntry
      metadata: { name: db, namespace: shop }
      spec:
        hosts: [ db.example ]
        addresses: [ "ENTRY" ]
        ports: [ { number: 7000, name: tcp, protocol: TCP } ]
        resolution: STATIC
        endpoints: [ { address: 10.77.2.2 } ]
      """.replace("VIP", VIP).replace("ENTRY", ENTRY_ADDRESS) + "---\n" + CapturedMesh.FRONTEND_SERVICE;

  @AutoClose private CapturedMesh m;

  @Test
  void anUnmodifiedClientReachesServicesAndPodsOverIpv6ThroughBothCapturedSidecars() throws Exception {
    m = CapturedMesh.create("CapturedIpv6MeshTest", "getent", "ip6tables-restore");
    m.topology(1);
    m.ipv6();
    String server = m.server(0);
    m.resolvConf(m.client, "nameserver 10.77.1.1\nsearch default.svc.cluster.local\noptions ndots:5 timeout:2"
        + " attempts:1\n");
    m.control(POLICIES);
    m.iptables(List.of("--redirect-dns"), List.of("--ipv6"));
    m.start(server, "app", appUser(PYTHON, "-c", CapturedMeshTest.ECHO_APP.replace("APP_ADDRESS", "::"))); // dual-stack
    m.start(server, "hello", appUser(PYTHON, "-c", HELLO_SERVER));
    Path root = m.dir.resolve("root.pem");
    Files.writeString(root, m.awaitRootPem());
    m.start(server, "server-sidecar", CapturedMesh.sidecar(m.secureXds(root, "reviews"), "reviews", "9080",
        CapturedMesh.serverAddress(0), "--ipv6")); // dual-stack pods: the captured listeners on [::]
    m.start(m.client, "client-sidecar", CapturedMesh.sidecar(m.secureXds(root, "frontend"), "frontend", "8000",
        "10.77.1.2", "--dns-capture", "--ipv6"));
    m.awaitOutput(m.client, "0.0.0.0_7000::0.0.0.0:7000", 120, "curl", "-s", "http://127.0.0.1:9901/listeners");
    m.awaitOutput(m.client, "reviews.default.svc.cluster.local", "curl", "-s", "http://127.0.0.1:9901/config_dump");
    m.awaitOutput(server, "InboundPassthroughCluster", "curl", "-s", "http://127.0.0.1:9901/config_dump"); // CDS

    // The app's own resolver: AAAA from the sidecar's DNS proxy, the Service's IPv6 VIP.
    Result v6 = run(in(m.client, appUser("getent", "ahostsv6", "reviews")), 20);
    assertThat(v6.exit()).as(v6.out()).isZero();
    assertThat(v6.out()).as(v6.out()).startsWith(VIP + " ");

    // curl -6 by name: the IPv6 connection captured by ip6tables, taken by virtualOutbound's dual-stack socket, handed
    // to 0.0.0.0_9080 by its IPv6 original destination, routed by Host to reviews over mTLS (the server pod's IPv4
    // address), into the app on that address from 127.0.0.6.
    Result byName = run(in(m.client, appUser("curl", "-6", "-s", "--max-time", "5", "http://reviews:9080/by-name")), 20);
    assertThat(byName.exit()).as(byName.out() + m.logs()).isZero();
    assertThat(byName.out()).contains("path=/by-name", "peer=::ffff:127.0.0.6").containsIgnoringCase("x-envoy-attempt-count: 1")
        .containsIgnoringCase("x-forwarded-client-cert: By=spiffe://cluster.local/ns/default/sa/reviews;Hash=")
        .contains(";URI=spiffe://cluster.local/ns/default/sa/frontend");
    Result byVip = run(in(m.client, appUser("curl", "-s", "--max-time", "5", "http://[" + VIP + "]:9080/by-vip")), 20);
    assertThat(byVip.out()).as("the bracketed VIP as Host is the service's too").contains("path=/by-vip",
        "peer=::ffff:127.0.0.6");

    // A TCP ServiceEntry's IPv6 address: its prefix_ranges chain on 0.0.0.0_7000 sends the bytes to its endpoint
    // (the server pod's IPv4 address, whose sidecar passes them through from 127.0.0.6).
    Result entry = run(in(m.client, appUser(PYTHON, "-c", TCP_CLIENT, ENTRY_ADDRESS)), 20);
    assertThat(entry.out()).as(entry.out()).contains("got:hello from 7000 to ::ffff:127.0.0.6");
    assertThat(m.statSum(m.client, "cluster.outbound|7000||db.example.upstream_cx_total")).isPositive();

    // The server pod by its IPv6 address (PERMISSIVE serves plaintext): the client's IPv6 passthrough, then the server
    // sidecar's virtualInbound with an IPv6 destination: the app port's chain, whose inbound|9080 reaches the app on
    // the pod's IPv6 address from ::6 (extra_source_addresses beside 127.0.0.6); another port the IPv6 inbound
    // passthrough (one cluster for both families), whose connection comes from ::6 too.
    String pod6 = CapturedMesh.serverAddress6(0);
    Result direct = run(in(m.client, appUser("curl", "-s", "--max-time", "5", "http://[" + pod6 + "]:9080/direct")), 20);
    assertThat(direct.out()).as(direct.out()).contains("path=/direct", "peer=::6\n");
    assertThat(m.stat(server, "cluster.inbound|9080.upstream_cx_total")).isPositive();
    Result passthrough = run(in(m.client, appUser(PYTHON, "-c", TCP_CLIENT, pod6)), 20);
    assertThat(passthrough.out()).as(passthrough.out()).contains("got:hello from 7000 to ::6");
    assertThat(m.stat(server, "cluster.InboundPassthroughCluster.upstream_cx_total")).isPositive();
    assertThat(m.stat(m.client, "cluster.PassthroughCluster.upstream_cx_total")).isPositive();
    // The mesh hop was mTLS.
    assertThat(m.statSum(m.client, "cluster.reviews.ssl.handshake")).isPositive();
  }
}
