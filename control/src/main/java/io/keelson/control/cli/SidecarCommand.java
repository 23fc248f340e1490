package io.keelson.control.cli;

import io.keelson.control.sidecar.Sidecar;
import io.keelson.control.sidecar.SidecarBootstrap;
import io.keelson.dataplane.config.ConfigException;
import io.keelson.dataplane.config.envoy.BootstrapLoader;
import io.keelson.dataplane.server.ProxyOptions;
import io.keelson.dataplane.server.StartupHeap;
import io.keelson.dataplane.xds.XdsClientConfig;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** {@code bin/keelson proxy --xds HOST:PORT --service NAME ...}: a sidecar with a generated bootstrap. */
final class SidecarCommand {
  static final String HELP =
      """
      usage: bin/keelson proxy --xds HOST:PORT --service NAME --app-port N [options]   (sidecar mode)

        --xds HOST:PORT       the control plane's xDS server (bin/keelson control: 127.0.0.1:15010)
        --service NAME        the service this workload belongs to; registered with the control plane as an
                              endpoint of the Service NAME of its namespace (its join token's) only; none
                              there: it serves nothing until one is applied (it still calls the mesh)
        --labels k=v[,k=v]    the workload's labels (what DestinationRule subsets select), e.g. version=v1
        --app-port N          the app's port on 127.0.0.1; the inbound listener forwards mesh traffic to it
        --locality R[/Z[/S]]  where the workload runs: region/zone/subzone, sent as the xDS node's locality;
                              the workload is registered there, and this proxy's endpoints are ordered by it
                              (same zone first) for destinations with outlierDetection (docs/control-plane.md)
        --cluster-id ID       the workload's cluster (Istio's CLUSTER_ID, default Kubernetes): its metrics'
                              source_cluster/destination_cluster, sent to peers by the metadata exchange
        --inbound-protocol P  http (default) or tcp: the app speaks raw TCP, the inbound listener is a
                              tcp_proxy and AuthorizationPolicies apply as envoy.filters.network.rbac
        --inbound-port N      mesh traffic for this workload (default 15006)
        --outbound-port N     the app's calls into the mesh, routed by Host (default 15001)
        --admin HOST:PORT     admin listener (default 127.0.0.1:9901)
        --xds-root-ca FILE    connect to the control plane's secure port over TLS, trusting this mesh root
                              (bin/keelson ca-root > FILE); --xds then names the secure port, e.g. :15012
        --token-file FILE     the join token (bin/keelson token create ...): authenticates the proxy and
                              gets it a workload certificate by CSR (the key never leaves the proxy)
        --capture MODE        none (default: the app calls 127.0.0.1:--outbound-port with Host: SERVICE) or
                              iptables: the app's TCP is captured by 'bin/keelson iptables' (run first, as
                              root, in the workload's network namespace); the sidecar binds virtualOutbound
                              and virtualInbound on 0.0.0.0 and must run as the --proxy-uid given there
        --ipv6                with --capture iptables: the pod is dual-stack (pair it with 'bin/keelson
                              iptables --ipv6'): the captured listeners bind [::] (IPv4 and IPv6) and IPv6
                              destinations get an inbound passthrough from ::6; without it IPv4 only, which
                              also runs on a host without IPv6
        --address IP          with --capture iptables: the workload's (pod's) IPv4 address; it is registered
                              at IP:--app-port, where callers' traffic is captured to --inbound-port
        --dns-capture         with --capture iptables: run the DNS proxy (Istio's DNS proxying) on
                              127.0.0.1:--dns-port, UDP and TCP: the mesh's service names (NAME.NS,
                              NAME.NS.svc, NAME.NS.svc.cluster.local, and NAME for a Service of the
                              sidecar's own namespace) resolve to their VIPs, other names go to the
                              upstream resolver; pair it with
                              'bin/keelson iptables --redirect-dns'
        --dns-port N          the DNS proxy's port (default 15053)
        --dns-upstream IP[:P] the resolver for other names (default: the nameservers of /etc/resolv.conf,
                              read at start, asked in turn; its search list is read too)
        --gateway             run as an ingress gateway instead of a sidecar: no app, no inbound/outbound
                              listeners; Istio Gateways whose selector matches --labels (e.g.
                              istio=ingressgateway) program its listeners, and VirtualServices bound to them
                              its routes. --service names it (default istio-ingressgateway); with
                              --token-file it calls the mesh over mTLS as that token's identity
        --gateway-address IP  where a gateway binds its servers' ports (default 0.0.0.0)
        --print-bootstrap     print the generated Envoy bootstrap and exit
        --concurrency, --transport, --pipeline, --drain-time, --tls-offload as in the --config mode

      Several sidecars on one machine need distinct --inbound-port, --outbound-port and --admin.
      """;
  static final Set<String> OPTIONS =
      Set.of("--xds", "--service", "--labels", "--app-port", "--inbound-port", "--outbound-port", "--xds-root-ca",
          "--token-file", "--inbound-protocol", "--capture", "--address", "--dns-port", "--dns-upstream", "--locality",
          "--gateway-address", "--cluster-id");
  static final String GATEWAY = "--gateway";
  static final String DNS_CAPTURE = "--dns-capture";
  static final String IPV6 = "--ipv6";
  static final String PRINT_BOOTSTRAP = "--print-bootstrap";

  private SidecarCommand() {}

  static int run(Args args) {
    SidecarBootstrap bootstrap;
    ProxyOptions options;
    io.keelson.dataplane.dns.DnsConfig dnsConfig;
    try {
      bootstrap = bootstrap(args);
      dnsConfig = dnsConfig(args, bootstrap.captured());
      if (args.has(PRINT_BOOTSTRAP)) {
        System.out.print(bootstrap.yaml());
        return 0;
      }
      options = ProxyCommand.options(args, BootstrapLoader.parseBootstrap(bootstrap.yaml(), "sidecar bootstrap"));
    } catch (IllegalArgumentException | IllegalStateException | ConfigException e) {
      System.err.println("keelson proxy: " + e.getMessage());
      return 2;
    }
    Sidecar sidecar;
    try {
      io.keelson.dataplane.security.ControlPlaneCredentials credentials = io.keelson.dataplane.security
          .ControlPlaneCredentials.of(args.has("--xds-root-ca") ? java.nio.file.Path.of(args.get("--xds-root-ca", null))
              : null, args.has("--token-file") ? java.nio.file.Path.of(args.get("--token-file", null)) : null);
      sidecar = credentials.rootCaFile() == null && credentials.joinToken() == null
          ? Sidecar.start(bootstrap, options, XdsClientConfig.DEFAULT_MAX_BACKOFF)
          : Sidecar.start(bootstrap, options, XdsClientConfig.DEFAULT_MAX_BACKOFF, credentials);
    } catch (io.grpc.StatusRuntimeException e) {
      System.err.println("keelson proxy: the control plane refused this proxy: " + e.getStatus().getCode() + ": "
          + e.getStatus().getDescription());
      return 1;
    } catch (java.io.UncheckedIOException | IllegalArgumentException e) {
      System.err.println("keelson proxy: " + e.getMessage());
      return 2;
    } catch (io.keelson.dataplane.tls.offload.TlsOffloadUnavailableException e) {
      System.err.println("keelson proxy: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 1;
    } catch (Exception e) {
      System.err.println("keelson proxy: " + e.getMessage() + " (choose other ports with --inbound-port,"
          + " --outbound-port, --admin)");
      return 1;
    }
    if (dnsConfig != null) {
      try {
        var dns = sidecar.startDns(dnsConfig);
        System.err.printf("keelson proxy: DNS proxy on udp and tcp %s; other names to %s%n",
            ProxyCommand.hostPort(dns.udpAddress()), ProxyCommand.hostPort(dns.upstreamAddress()));
      } catch (IllegalStateException e) {
        System.err.println("keelson proxy: " + e.getMessage());
        sidecar.close();
        return 1;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        sidecar.close();
        return 1;
      }
    }
    StartupHeap.settle(); // start-up garbage out of the young generation (docs/performance.md)
    CountDownLatch terminate = TerminationSignals.install();
    System.err.printf("keelson proxy: %s %s of service %s %s%n", bootstrap.gateway() ? "gateway" : "sidecar",
        sidecar.nodeId(), bootstrap.service(), bootstrap.labels());
    if (bootstrap.gateway()) {
      System.err.printf("keelson proxy: ingress gateway: the listeners of the Gateways selecting %s, on %s%n",
          bootstrap.labels(), bootstrap.gatewayAddress());
    } else if (bootstrap.captured()) {
      System.err.printf("keelson proxy: captured (iptables): registered at %s:%d; virtualInbound %s -> app"
              + " 127.0.0.1:%d; virtualOutbound %s%n", bootstrap.captureAddress(), bootstrap.appPort(),
          ProxyCommand.hostPort(sidecar.inboundAddress()), bootstrap.appPort(),
          ProxyCommand.hostPort(sidecar.outboundAddress()));
    } else {
      System.err.printf("keelson proxy: inbound %s -> app 127.0.0.1:%d; outbound %s (Host: SERVICE)%n",
          ProxyCommand.hostPort(sidecar.inboundAddress()), bootstrap.appPort(),
          ProxyCommand.hostPort(sidecar.outboundAddress()));
    }
    System.err.printf("keelson proxy: xDS from %s:%d; admin on http://%s/%n", bootstrap.xdsHost(), bootstrap.xdsPort(),
        ProxyCommand.hostPort(sidecar.server().adminAddress()));
    try {
      terminate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    System.err.println("keelson proxy: draining (up to " + options.drainTime().toSeconds() + " s)");
    sidecar.close();
    System.err.println("keelson proxy: stopped");
    return 0;
  }

  static SidecarBootstrap bootstrap(Args args) {
    Args.HostPort xds = args.hostPort("--xds", null);
    if (args.has(GATEWAY)) {
      for (String sidecarOnly : java.util.List.of("--app-port", "--inbound-port", "--outbound-port", "--capture",
          "--inbound-protocol", "--address", IPV6)) {
        if (args.has(sidecarOnly)) {
          throw new IllegalArgumentException(sidecarOnly + " is for sidecars; a gateway (--gateway) has no app and its"
              + " listeners come from Istio Gateways");
        }
      }
      Args.HostPort admin = args.hostPort("--admin", "127.0.0.1:9901");
      return SidecarBootstrap.gateway(xds.host(), xds.port(), args.get("--service", "istio-ingressgateway"),
          SidecarBootstrap.parseLabels(args.get("--labels", "")),
          args.get("--gateway-address", io.keelson.control.xds.NodeRegistration.GATEWAY_DEFAULT_ADDRESS),
          admin.host(), admin.port()).withLocality(locality(args.get("--locality", null)))
          .withClusterId(args.get("--cluster-id", SidecarBootstrap.DEFAULT_CLUSTER_ID));
    }
    if (args.has("--gateway-address")) {
      throw new IllegalArgumentException("--gateway-address is only used with --gateway");
    }
    String service = args.get("--service", null);
    if (service == null || !args.has("--app-port")) {
      throw new IllegalArgumentException("sidecar mode (--xds) needs --service NAME and --app-port N\n\n" + HELP);
    }
    String serviceProblem = io.keelson.control.policy.ServiceNames.serviceNameProblem(service);
    if (serviceProblem != null) {
      throw new IllegalArgumentException("--service " + serviceProblem + "; a sidecar registers to the Service of its"
          + " own namespace (its join token's)");
    }
    Args.HostPort admin = args.hostPort("--admin", "127.0.0.1:9901");
    return new SidecarBootstrap(xds.host(), xds.port(), service, SidecarBootstrap.parseLabels(args.get("--labels", "")),
        args.getInt("--app-port", 0), args.getInt("--inbound-port", 15006), args.getInt("--outbound-port", 15001),
        admin.host(), admin.port(), inboundTcp(args.get("--inbound-protocol", "http")), captureAddress(args),
        locality(args.get("--locality", null)), null, args.has(IPV6),
        args.get("--cluster-id", SidecarBootstrap.DEFAULT_CLUSTER_ID));
  }

  private static io.keelson.control.policy.Locality locality(String text) {
    if (text == null) {
      return io.keelson.control.policy.Locality.NONE;
    }
    try {
      return io.keelson.control.policy.Locality.parse(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--locality " + e.getMessage());
    }
  }

  /** The DNS proxy's settings when --dns-capture, else null; the flags' combinations are checked. */
  static io.keelson.dataplane.dns.DnsConfig dnsConfig(Args args, boolean captured) {
    if (!args.has(DNS_CAPTURE)) {
      if (args.has("--dns-port") || args.has("--dns-upstream")) {
        throw new IllegalArgumentException("--dns-port and --dns-upstream are only used with --dns-capture");
      }
      return null;
    }
    if (!captured) {
      throw new IllegalArgumentException("--dns-capture needs --capture iptables: the app's DNS reaches the proxy"
          + " through 'bin/keelson iptables --redirect-dns'");
    }
    int port = args.getInt("--dns-port", io.keelson.dataplane.dns.DnsConfig.DEFAULT_PORT);
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("--dns-port " + port + ": expected 1-65535");
    }
    String upstream = args.get("--dns-upstream", null);
    var config = upstream != null
        ? new io.keelson.dataplane.dns.DnsConfig(io.keelson.dataplane.dns.DnsConfig.DEFAULT_HOST, port,
            java.util.List.of(io.keelson.dataplane.dns.DnsConfig.upstream("--dns-upstream", upstream)),
            searchDomains(), io.keelson.dataplane.dns.DnsConfig.DEFAULT_TIMEOUT,
            io.keelson.dataplane.dns.DnsConfig.DEFAULT_MAX_PENDING, io.keelson.dataplane.dns.DnsConfig.DEFAULT_MAX_TCP_CONNECTIONS)
        : io.keelson.dataplane.dns.DnsConfig.fromResolvConf(io.keelson.dataplane.dns.DnsConfig.DEFAULT_HOST, port,
            io.keelson.dataplane.dns.DnsConfig.RESOLV_CONF);
    return config;
  }

  private static java.util.List<String> searchDomains() {
    try {
      return io.keelson.dataplane.dns.DnsConfig.fromResolvConf("127.0.0.1", 0,
          io.keelson.dataplane.dns.DnsConfig.RESOLV_CONF).searchDomains();
    } catch (IllegalArgumentException e) {
      return java.util.List.of(); // no resolv.conf, or no nameserver in it: nothing to strip
    }
  }

  /** The pod address when --capture iptables, else null; the flags' combinations are checked. */
  private static String captureAddress(Args args) {
    String mode = args.get("--capture", "none");
    return switch (mode) {
      case "none" -> {
        if (args.has("--address")) {
          throw new IllegalArgumentException("--address is only used with --capture iptables (the workload registers"
              + " 127.0.0.1:--inbound-port otherwise)");
        }
        yield null;
      }
      case "iptables" -> {
        String address = args.get("--address", null);
        if (address == null) {
          throw new IllegalArgumentException("--capture iptables needs --address IP: the workload's (pod's) address,"
              + " where callers reach it");
        }
        yield address;
      }
      default -> throw new IllegalArgumentException("--capture '" + mode + "': expected none or iptables");
    };
  }

  private static boolean inboundTcp(String protocol) {
    return switch (protocol) {
      case "http" -> false;
      case "tcp" -> true;
      default -> throw new IllegalArgumentException("--inbound-protocol '" + protocol + "': expected http or tcp");
    };
  }
}
