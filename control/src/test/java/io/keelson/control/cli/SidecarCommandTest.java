package io.keelson.control.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.keelson.dataplane.config.envoy.BootstrapLoader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** {@code bin/keelson proxy} in sidecar mode: the options, the printed bootstrap, the usage errors. */
class SidecarCommandTest {
  @Test
  void printBootstrapShowsALoadableBootstrapWithThePortsAndRegistration() throws Exception {
    String[] code = new String[1];
    String out = capture(() -> {
      code[0] = Integer.toString(ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--service", "reviews",
          "--labels", "version=v2,team=blue", "--app-port", "9080", "--inbound-port", "15106", "--outbound-port", "15101",
          "--admin", "127.0.0.1:9911", "--print-bootstrap"}));
      return null;
    });
    assertThat(code[0]).isEqualTo("0");
    assertThat(out).contains("id: reviews-15106", "keelson.io/port: 15106", "keelson.io/outbound-port: 15101",
        "\"team\": \"blue\"", "port_value: 9080", "port_value: 9911");
    var snapshot = BootstrapLoader.parseBootstrap(out, "printed").snapshot();
    assertThat(snapshot.listeners()).extracting(l -> l.name()).containsExactlyInAnyOrder("inbound", "outbound");
    assertThat(BootstrapLoader.parseAdsSource(out, "printed").node().getMetadata().getFieldsMap())
        .containsKeys("keelson.io/service", "keelson.io/labels");
  }

  @Test
  void localityIsTheBootstrapNodesStandardLocalityAndABadOneIsRefused() throws Exception {
    String out = capture(() -> {
      ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--service", "reviews", "--app-port", "9080",
          "--locality", "us-east1/us-east1-b/rack-7", "--print-bootstrap"});
      return null;
    });
    var locality = BootstrapLoader.parseAdsSource(out, "printed").node().getLocality();
    assertThat(locality.getRegion() + "|" + locality.getZone() + "|" + locality.getSubZone())
        .isEqualTo("us-east1|us-east1-b|rack-7");
    assertThat(BootstrapLoader.parseBootstrap(out, "printed").snapshot().warnings()).asString().doesNotContain("locality");

    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--service", "reviews", "--app-port", "9080",
          "--locality", "us-east1//rack-7", "--print-bootstrap"});
    } finally {
      System.setErr(old);
    }
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--locality 'us-east1//rack-7' is not a locality");
  }

  @Test
  void clusterIdIsTheNodesClusterIdDefaultingToKubernetesAndABadOneIsRefused() throws Exception {
    String east = capture(() -> {
      ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--service", "reviews", "--app-port", "9080",
          "--cluster-id", "east-1", "--print-bootstrap"});
      return null;
    });
    assertThat(BootstrapLoader.parseAdsSource(east, "printed").node().getMetadata().getFieldsOrThrow("CLUSTER_ID")
        .getStringValue()).isEqualTo("east-1");
    assertThat(io.keelson.dataplane.config.envoy.NodeIdentity.fromBootstrap(east, "printed").cluster())
        .as("source_cluster / destination_cluster of this proxy").isEqualTo("east-1");
    String gateway = capture(() -> {
      ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--gateway", "--service", "ingress",
          "--gateway-address", "127.0.0.1", "--print-bootstrap"});
      return null;
    });
    assertThat(io.keelson.dataplane.config.envoy.NodeIdentity.fromBootstrap(gateway, "printed").cluster())
        .as("istiod's default").isEqualTo("Kubernetes");

    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--service", "reviews", "--app-port", "9080",
          "--cluster-id", "east cluster\"", "--print-bootstrap"});
    } finally {
      System.setErr(old);
    }
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--cluster-id 'east cluster\"' is not a cluster id");
  }

  @Test
  void aGatewaysLocalityIsItsBootstrapNodesStandardLocality() throws Exception {
    String out = capture(() -> {
      ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--gateway", "--labels", "istio=ingressgateway",
          "--locality", "us-east1/us-east1-b/rack-7", "--admin", "127.0.0.1:9913", "--print-bootstrap"});
      return null;
    });
    var node = BootstrapLoader.parseAdsSource(out, "printed").node();
    assertThat(node.getMetadata().getFieldsMap().get("keelson.io/gateway").getBoolValue()).isTrue();
    var locality = node.getLocality();
    assertThat(locality.getRegion() + "|" + locality.getZone() + "|" + locality.getSubZone())
        .isEqualTo("us-east1|us-east1-b|rack-7");
    assertThat(BootstrapLoader.parseBootstrap(out, "printed").snapshot().warnings()).asString().doesNotContain("locality");
    // The node a running gateway sends (Sidecar.start uses node(), not the printed YAML) carries it too.
    var sent = io.keelson.control.sidecar.SidecarBootstrap.gateway("127.0.0.1", 15010, "istio-ingressgateway",
        java.util.Map.of("istio", "ingressgateway"), "0.0.0.0", "127.0.0.1", 9913)
        .withLocality(io.keelson.control.policy.Locality.parse("us-east1/us-east1-b/rack-7")).node(9913, 0);
    assertThat(sent.getLocality().getRegion() + "|" + sent.getLocality().getZone() + "|" + sent.getLocality().getSubZone())
        .isEqualTo("us-east1|us-east1-b|rack-7");
  }

  @Test
  void thePrintedBootstrapListsLabelsByNameSoItIsTheSameOnEveryRun() throws Exception {
    String out = capture(() -> {
      ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--service", "reviews", "--app-port", "9080",
          "--labels", "version=v2,app=web,team=blue,zone=a", "--print-bootstrap"});
      return null;
    });
    String line = out.lines().filter(l -> l.contains("keelson.io/labels")).findFirst().orElseThrow();
    // Map.copyOf iterated in an order that changes from JVM to JVM; the YAML a user diffs should not.
    assertThat(line.indexOf("app")).isLessThan(line.indexOf("team"));
    assertThat(line.indexOf("team")).isLessThan(line.indexOf("version"));
    assertThat(line.indexOf("version")).isLessThan(line.indexOf("zone"));
  }

  @Test
  void aGatewayBootstrapHasNoListenersAndAnnouncesItselfWithItsLabelsAndAddress() throws Exception {
    String out = capture(() -> {
      ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--gateway", "--labels", "istio=ingressgateway",
          "--gateway-address", "127.0.0.1", "--admin", "127.0.0.1:9912", "--print-bootstrap"});
      return null;
    });
    assertThat(BootstrapLoader.parseBootstrap(out, "printed").snapshot().listeners()).isEmpty();
    var node = BootstrapLoader.parseAdsSource(out, "printed").node();
    assertThat(node.getId()).isEqualTo("istio-ingressgateway-9912");
    assertThat(node.getMetadata().getFieldsMap().get("keelson.io/gateway").getBoolValue()).isTrue();
    assertThat(node.getMetadata().getFieldsMap().get("keelson.io/gateway-address").getStringValue()).isEqualTo("127.0.0.1");
    assertThat(node.getMetadata().getFieldsMap().get("keelson.io/labels").getStructValue().getFieldsMap()
        .get("istio").getStringValue()).isEqualTo("ingressgateway");
    assertThat(node.getMetadata().getFieldsMap()).doesNotContainKeys("keelson.io/service", "keelson.io/port");

    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      assertThat(ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--gateway", "--app-port", "9000",
          "--print-bootstrap"})).isEqualTo(2);
      assertThat(ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--gateway", "--gateway-address", "any",
          "--print-bootstrap"})).isEqualTo(2);
      assertThat(ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--gateway", "--gateway-address", "999.0.0.1",
          "--print-bootstrap"})).isEqualTo(2); // digits and dots, not an address (the data plane would NACK it)
      assertThat(ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--service", "x", "--app-port", "9000",
          "--gateway-address", "127.0.0.1", "--print-bootstrap"})).isEqualTo(2);
    } finally {
      System.setErr(old);
    }
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--app-port is for sidecars; a gateway (--gateway) has no app")
        .contains("--gateway-address 'any' is not an IPv4 address")
        .contains("--gateway-address '999.0.0.1' is not an IPv4 address")
        .contains("--gateway-address is only used with --gateway");
  }

  @Test
  void aTcpAppGetsATcpProxyInboundListenerAndSaysSoInItsNodeMetadata() throws Exception {
    String out = capture(() -> {
      ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--service", "tcp-echo", "--app-port", "9000",
          "--inbound-protocol", "tcp", "--print-bootstrap"});
      return null;
    });
    var snapshot = BootstrapLoader.parseBootstrap(out, "printed").snapshot();
    var inbound = snapshot.listeners().stream().filter(l -> l.name().equals("inbound")).findFirst().orElseThrow();
    assertThat(inbound.tcpProxy()).isNotNull();
    assertThat(inbound.http()).isNull();
    assertThat(BootstrapLoader.parseAdsSource(out, "printed").node().getMetadata().getFieldsMap()
        .get("keelson.io/inbound-protocol").getStringValue()).isEqualTo("tcp");

    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = ProxyCommand.run(new String[] {"--xds", "127.0.0.1:15010", "--service", "tcp-echo", "--app-port", "9000",
          "--inbound-protocol", "udp", "--print-bootstrap"});
    } finally {
      System.setErr(old);
    }
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("--inbound-protocol 'udp': expected http or tcp");
  }

  @Test
  void sidecarModeWithoutAnAppPortIsAUsageError() {
    assertThat(usageError("--xds", "127.0.0.1:15010", "--service", "reviews"))
        .contains("needs --service NAME and --app-port N");
  }

  @Test
  void aServiceOfAnotherNamespaceIsAUsageError() {
    assertThat(usageError("--xds", "127.0.0.1:15010", "--service", "reviews.shop", "--app-port", "9080"))
        .contains("--service 'reviews.shop' is not a Service name");
  }

  /** What {@code proxy args} prints to stderr, asserting it exits with the usage error code (2). */
  private static String usageError(String... args) {
    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = ProxyCommand.run(args);
    } finally {
      System.setErr(old);
    }
    assertThat(code).isEqualTo(2);
    return err.toString(StandardCharsets.UTF_8);
  }

  @Test
  void captureIptablesRegistersThePodAddressAndAppPortAndBindsTheVirtualListenersOnAllAddresses() throws Exception {
    String out = capture(() -> {
      ProxyCommand.run(new String[] {"--xds", "10.1.0.1:15010", "--service", "reviews", "--app-port", "9080",
          "--capture", "iptables", "--address", "10.1.0.7", "--print-bootstrap"});
      return null;
    });
    var snapshot = BootstrapLoader.parseBootstrap(out, "printed").snapshot();
    assertThat(snapshot.listeners()).extracting(l -> l.name() + "@" + l.host() + ":" + l.port()).containsExactlyInAnyOrder("virtualInbound@0.0.0.0:15006", "virtualOutbound@0.0.0.0:15001")
        .as("IPv4 only without --ipv6: a host without IPv6 cannot bind [::]");
    assertThat(out).contains("- name: \"inbound|9080\"", "id: reviews-10.1.0.7");
    // Until the control plane's cluster arrives, the app is reached on the pod address from 127.0.0.6 (Istio 1.10+).
    var app = snapshot.clusters().get("inbound|9080");
    assertThat(app.endpoints()).extracting(e -> e.host() + ":" + e.port()).containsExactly("10.1.0.7:9080");
    assertThat(app.sourceAddress().getHostString()).isEqualTo("127.0.0.6");
    assertThat(app.extraSourceAddress().getAddress().getHostAddress()).as("to an IPv6 pod address")
        .isEqualTo("0:0:0:0:0:0:0:6");
    var node = new SidecarBootstrapAccess().node(out);
    assertThat(node.getId()).isEqualTo("reviews-10.1.0.7");
    var md = node.getMetadata().getFieldsMap();
    assertThat(md.get("keelson.io/capture").getStringValue()).isEqualTo("iptables");
    assertThat(md.get("keelson.io/address").getStringValue()).isEqualTo("10.1.0.7");
    assertThat(md.get("keelson.io/port").getNumberValue()).isEqualTo(9080);
    assertThat(md.get("keelson.io/inbound-port").getNumberValue()).isEqualTo(15006);
    assertThat(md).doesNotContainKey("keelson.io/ipv6");
  }

  @Test
  void ipv6BindsTheVirtualListenersDualStackAndRegistersTheSidecarAsDualStack() throws Exception {
    String out = capture(() -> {
      ProxyCommand.run(new String[] {"--xds", "10.1.0.1:15010", "--service", "reviews", "--app-port", "9080",
          "--capture", "iptables", "--address", "10.1.0.7", "--ipv6", "--print-bootstrap"});
      return null;
    });
    var snapshot = BootstrapLoader.parseBootstrap(out, "printed").snapshot();
    assertThat(snapshot.listeners()).extracting(l -> l.name() + "@" + l.host() + ":" + l.port())
        .containsExactlyInAnyOrder("virtualInbound@:::15006", "virtualOutbound@:::15001");
    assertThat(new SidecarBootstrapAccess().node(out).getMetadata().getFieldsMap().get("keelson.io/ipv6").getBoolValue())
        .as("the control plane's listeners follow").isTrue();
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.CsvSource(delimiter = '|', value = {
      "--capture ebpf --address 10.1.0.7|--capture 'ebpf': expected none or iptables",
      "--capture iptables|--capture iptables needs --address IP",
      "--address 10.1.0.7|--address is only used with --capture iptables",
      "--capture iptables --address 127.0.0.1|--address '127.0.0.1' is not a pod address",
      "--capture iptables --address reviews|--address 'reviews' is not a pod address",
      "--capture iptables --address 10.1.0.7 --inbound-port 15001|needs distinct --inbound-port (15001), --outbound-port (15001)",
      "--capture iptables --address 10.1.0.7 --app-port 15006|--app-port (15006)",
      "--dns-capture|--dns-capture needs --capture iptables",
      "--ipv6|--ipv6 is only used with --capture iptables",
      "--capture iptables --address 10.1.0.7 --dns-port 15053|--dns-port and --dns-upstream are only used with --dns-capture",
      "--capture iptables --address 10.1.0.7 --dns-capture --dns-upstream dns.example|--dns-upstream 'dns.example': expected an IP address",
      "--capture iptables --address 10.1.0.7 --dns-capture --dns-port 0|--dns-port 0: expected 1-65535",
  })
  void badCaptureFlagsAreErrorsNamingTheFlag(String flags, String message) {
    java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("--xds", "127.0.0.1:15010", "--service",
        "reviews", "--app-port", "9080"));
    argv.addAll(java.util.List.of(flags.split(" ")));
    argv.add("--print-bootstrap");
    PrintStream old = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = ProxyCommand.run(argv.toArray(new String[0]));
    } finally {
      System.setErr(old);
    }
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains(message);
  }

  /** The node the printed bootstrap declares. */
  private static final class SidecarBootstrapAccess {
    io.envoyproxy.envoy.config.core.v3.Node node(String yaml) throws Exception {
      return BootstrapLoader.parseAdsSource(yaml, "printed").node();
    }
  }

  private static String capture(Supplier<Void> body) {
    PrintStream old = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    try {
      body.get();
    } finally {
      System.setOut(old);
    }
    return out.toString(StandardCharsets.UTF_8);
  }
}
