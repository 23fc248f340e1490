package io.keelson.control.cli;

import io.keelson.control.api.ControlPlane;
import io.keelson.control.ca.CaOptions;
import io.keelson.control.ca.MeshCa;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.store.etcd.EtcdException;
import io.keelson.control.store.etcd.EtcdStore;
import java.nio.file.Path;
import java.util.Set;

/** {@code bin/keelson control}: runs the control plane until SIGTERM/SIGINT. Main thread. */
final class ControlCommand {
  static final String HELP = """
      usage: bin/keelson control [--xds-port N] [--api-port N] [--config-dir DIR] [--data-dir DIR]
                                 [--bind ADDR] [--outbound-port N] [--xds-tls-port N] [--trust-domain TD]
                                 [--workload-cert-ttl D] [--ca-cert FILE --ca-key FILE [--ca-root FILE]]
                                 [--outbound-traffic-policy ALLOW_ANY|REGISTRY_ONLY] [--locality-lb true|false]
                                 [--protocol-detection-timeout D] [--path-normalization L]
                                 [--store etcd --etcd-endpoints URL[,URL...] [--etcd-prefix P] [--etcd-lease-ttl D]
                                  [--etcd-cacert F] [--etcd-cert F --etcd-key F] [--etcd-user U --etcd-password-file F]]
                                 [--access-log-file PATH [--access-log-encoding TEXT|JSON] [--access-log-format F]]
                                 [--tracing-otlp|--tracing-zipkin HOST:PORT|SERVICE [--tracing-provider-name N]
                                  [--tracing-sampling P]]
                                 [--mesh-config FILE] [--enable-quic-listeners]

      Runs Keelson's control plane: xDS (ADS over gRPC, state of the world and delta) and the HTTP API.
        --xds-port N       xDS port (default 15010; 0 = any free port)
        --api-port N       HTTP API port (default 15014; 0 = any free port)
        --config-dir DIR   apply the *.yaml files of DIR and follow their changes (a bad file is reported
                           and the previous state kept)
        --data-dir DIR     persist applied documents in DIR/state.yaml; reloaded at start
        --bind ADDR        address to listen on (default 127.0.0.1)
        --outbound-port N  port of the outbound listener sent to sidecars (default 15001)
        --outbound-traffic-policy M  what captured sidecars do with traffic to hosts and ports neither the
                           registry nor a ServiceEntry has: ALLOW_ANY (default: to where the app sent it) or
                           REGISTRY_ONLY (blocked: BlackHoleCluster, HTTP 502), Istio's outboundTrafficPolicy.mode
        --locality-lb B    Istio's meshConfig.localityLbSetting.enabled (default true): a destination whose
                           DestinationRule has outlierDetection is sent to each proxy with priorities by the
                           proxy's locality (same zone first, then region, then the rest); false turns this
                           default off (a DestinationRule's own localityLbSetting still applies)
        --protocol-detection-timeout D  Istio's meshConfig.protocolDetectionTimeout: how long captured sidecars
                           wait for a client's first bytes on a port with no declared protocol before relaying it as
                           TCP (default 0s: for ever, as Istio; a server-first protocol such as MySQL or SMTP must then
                           be declared TCP). e.g. 100ms, 5s; overrides protocolDetectionTimeout in --mesh-config
        --path-normalization L  Istio's meshConfig.pathNormalization.normalization: how every sidecar and gateway
                           normalizes request paths before authorization and routing: NONE, BASE (default: RFC 3986,
                           e.g. /a/../b and /%61 become /b and /a), MERGE_SLASHES (and // becomes /),
                           DECODE_AND_MERGE_SLASHES (and %2F, %5C unescaped); overrides pathNormalization in --mesh-config
        --enable-quic-listeners  istiod's PILOT_ENABLE_QUIC_LISTENERS (the environment variable is read too): every
                           ingress gateway's HTTPS servers that terminate TLS are also served over HTTP/3, on a UDP
                           listener of the same port, and their responses carry alt-svc: h3=":PORT"; ma=86400
        --xds-tls-port N   secure port: ADS and the certificate service over TLS, join tokens required
                           (default 15012; 0 = any free port; -1 = off)
        --trust-domain TD  SPIFFE trust domain of workload identities (default cluster.local)
        --workload-cert-ttl D  lifetime of workload certificates (default 24h; e.g. 1h, 90m)
        --ca-cert FILE     use this CA certificate (root or intermediate, PEM, optionally followed by its
                           issuers) instead of a self-signed root kept in --data-dir/ca
        --ca-key FILE      its private key (PEM)
        --ca-root FILE     the root its chain ends at, when --ca-cert does not include it
        --store S          embedded (default: memory, --data-dir, --config-dir) or etcd (several replicas share
                           the policies, the workloads sidecars register and the join tokens; every replica
                           must use the same CA, e.g. the same --ca-cert/--ca-key; see docs/control-plane.md)
        --etcd-endpoints U etcd client URLs, comma-separated (e.g. http://127.0.0.1:2379 or https://...)
        --etcd-cacert FILE the CA of etcd's serving certificate (https endpoints; default: the JDK's trust)
        --etcd-cert FILE   a client certificate for etcd's --client-cert-auth, with --etcd-key FILE; etcd
                           refuses gateway requests whose client certificate has a CN, so issue it without one
        --etcd-user NAME   an etcd user (etcd auth enabled), with --etcd-password-file FILE; its role needs
                           readwrite on the --etcd-prefix keys
        --etcd-prefix P    key prefix (default /keelson/)
        --etcd-lease-ttl D TTL of this replica's registration lease (default 5s): how long a dead replica's
                           workloads stay endpoints
        --etcd-timeout D   how long start-up waits for etcd (default 10s)
      Telemetry (Istio's meshConfig; Telemetry resources override it per namespace and workload, see
      docs/control-plane.md):
        --access-log-file PATH  every sidecar writes an access log line per request / connection to PATH
                           (/dev/stdout for standard output; default empty = off). It is also where the built-in
                           'envoy' provider of Telemetry resources writes (standard output when empty).
        --access-log-encoding E TEXT (default) or JSON
        --access-log-format F   an Envoy format string (TEXT), or a JSON object of format strings (JSON); default
                           Istio's default format less the operators the data plane lacks
        --tracing-otlp C   the tracing provider: an OTLP/gRPC collector at HOST:PORT, or a registry Service whose
                           workloads are the collector; spans from every sidecar unless Telemetry says otherwise
        --tracing-zipkin C the tracing provider: a Zipkin collector (POST /api/v2/spans, JSON v2) at HOST:PORT, or a
                           registry Service whose workloads are the collector (Istio's zipkin extension provider:
                           envoy.tracers.zipkin, 128-bit trace ids, no shared span context); instead of --tracing-otlp
        --tracing-provider-name N  the provider's name in Telemetry resources (default otel, zipkin with
                           --tracing-zipkin)
        --tracing-sampling P    default random sampling percentage, 0-100 (default 1, as Istio)
      External authorization (Istio's meshConfig, for AuthorizationPolicy action CUSTOM):
        --mesh-config FILE Istio meshConfig YAML with an extensionProviders list of zipkin (service, port, maxTagLength;
                           the tracing provider, on by default when defaultProviders.tracing names it; not with
                           --tracing-otlp/--tracing-zipkin), envoyExtAuthzHttp (service, port,
                           timeout, pathPrefix, failOpen, statusOnError, includeRequestHeadersInCheck,
                           includeAdditionalHeadersInCheck, headersToUpstreamOnAllow, headersToDownstreamOnDeny) and
                           envoyExtAuthzGrpc (service, port, timeout, failOpen, statusOnError) providers; service is a
                           registry Service name (its workloads) or a host name or IP address (with port); and
                           protocolDetectionTimeout (a Go duration: 0s, 100ms, 1s; --protocol-detection-timeout wins)
                           and pathNormalization.normalization (--path-normalization wins),
                           defaultServiceExportTo, defaultVirtualServiceExportTo and
                           defaultDestinationRuleExportTo (lists: ".", "*", "~" for services, namespaces)
      """;

  private ControlCommand() {}

  private static Path path(Args a, String name) {
    return a.has(name) ? Path.of(a.get(name, null)) : null;
  }

  static int run(String[] argv) throws Exception {
    if (argv.length > 0 && (argv[0].equals("--help") || argv[0].equals("-h"))) {
      System.out.print(HELP);
      return 0;
    }
    Args a = new Args("control", argv, Set.of("--xds-port", "--api-port", "--config-dir", "--data-dir", "--bind",
        "--outbound-port", "--xds-tls-port", "--trust-domain", "--workload-cert-ttl", "--ca-cert", "--ca-key",
        "--ca-root", "--store", "--etcd-endpoints", "--etcd-prefix", "--etcd-lease-ttl", "--etcd-timeout", "--etcd-cacert",
        "--etcd-cert", "--etcd-key", "--etcd-user", "--etcd-password-file", "--access-log-file",
        "--access-log-encoding", "--access-log-format", "--tracing-otlp", "--tracing-zipkin", "--tracing-provider-name",
        "--tracing-sampling",
        "--outbound-traffic-policy", "--locality-lb", "--mesh-config", "--protocol-detection-timeout",
        "--path-normalization"),
        Set.of("--enable-quic-listeners"));
    Path dataDir = a.has("--data-dir") ? Path.of(a.get("--data-dir", null)) : null;
    CaOptions ca = new CaOptions(a.get("--trust-domain", CaOptions.DEFAULT_TRUST_DOMAIN),
        a.has("--workload-cert-ttl") ? SecurityCommands.duration(a.get("--workload-cert-ttl", null))
            : MeshCa.DEFAULT_WORKLOAD_TTL,
        path(a, "--ca-cert"), path(a, "--ca-key"), path(a, "--ca-root"), dataDir);
    ControlPlane.Options o = new ControlPlane.Options(a.get("--bind", "127.0.0.1"), a.getInt("--xds-port", 15010),
        a.getInt("--api-port", 15014), a.has("--config-dir") ? Path.of(a.get("--config-dir", null)) : null,
        dataDir, a.getInt("--outbound-port", 15001), ca, a.getInt("--xds-tls-port", 15012));
    try {
      o = o.withTelemetry(io.keelson.control.telemetry.MeshTelemetry.fromFlags(a.get("--access-log-file", null),
          a.get("--access-log-encoding", null), a.get("--access-log-format", null), a.get("--tracing-otlp", null),
          a.get("--tracing-zipkin", null), a.get("--tracing-provider-name", null), a.get("--tracing-sampling", null)));
    } catch (IllegalArgumentException e) {
      System.err.println("keelson control: " + e.getMessage());
      return 2;
    }
    if (a.has("--mesh-config")) {
      try {
        io.keelson.control.api.MeshConfigFile mesh = io.keelson.control.api.MeshConfigFile.read(path(a, "--mesh-config"));
        o = o.withExtensionProviders(mesh.extensionProviders()).withGatewayProxyProtocol(mesh.gatewayProxyProtocol())
            .withExportTo(mesh.exportTo());
        if (mesh.tracing() != null) {
          o = o.withTelemetry(o.telemetry().withTracingProvider(mesh.tracing(), mesh.tracingByDefault()));
        }
        if (mesh.pathNormalization() != null) {
          o = o.withPathNormalization(mesh.pathNormalization()); // the flag, below, overrides it
        }
        if (mesh.protocolDetectionTimeout() != null) {
          o = o.withProtocolDetectionTimeout(mesh.protocolDetectionTimeout()); // the flag, below, overrides it
        }
      } catch (IllegalArgumentException e) {
        System.err.println("keelson control: " + e.getMessage());
        return 2;
      }
    }
    try {
      o = o.withOutboundTrafficPolicy(io.keelson.control.xds.OutboundTrafficPolicy.parse(
          a.get("--outbound-traffic-policy", "ALLOW_ANY")));
    } catch (IllegalArgumentException e) {
      System.err.println("keelson control: --outbound-traffic-policy " + e.getMessage());
      return 2;
    }
    String localityLb = a.get("--locality-lb", "true");
    if (!localityLb.equals("true") && !localityLb.equals("false")) {
      System.err.println("keelson control: --locality-lb '" + localityLb + "': expected true or false");
      return 2;
    }
    o = o.withLocalityLb(Boolean.parseBoolean(localityLb));
    if (a.has("--protocol-detection-timeout")) {
      java.time.Duration d = detectionTimeout(a.get("--protocol-detection-timeout", null));
      if (d == null) {
        System.err.println("keelson control: --protocol-detection-timeout '"
            + a.get("--protocol-detection-timeout", null) + "': expected 0s (no timeout, the default) or a duration such as 100ms or 5s");
        return 2;
      }
      o = o.withProtocolDetectionTimeout(d);
    }
    if (a.has("--path-normalization")) {
      try {
        o = o.withPathNormalization(io.keelson.control.xds.PathNormalizationLevel.parse(a.get("--path-normalization", null)));
      } catch (IllegalArgumentException e) {
        System.err.println("keelson control: --path-normalization " + e.getMessage());
        return 2;
      }
    }
    String storeKind = a.get("--store", "embedded");
    if (storeKind.equals("etcd")) {
      if (!a.has("--etcd-endpoints")) {
        System.err.println("keelson control: --store etcd needs --etcd-endpoints, e.g. http://127.0.0.1:2379");
        return 2;
      }
      java.util.List<java.net.URI> endpoints = new java.util.ArrayList<>();
      for (String e : a.get("--etcd-endpoints", null).split(",")) {
        java.net.URI uri;
        try {
          uri = new java.net.URI(e.strip());
        } catch (java.net.URISyntaxException bad) {
          uri = null;
        }
        if (uri == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
            || uri.getHost() == null) {
          System.err.println("keelson control: --etcd-endpoints '" + e + "': expected http://HOST:PORT or https://HOST:PORT");
          return 2;
        }
        endpoints.add(uri);
      }
      EtcdStore.Options eo = EtcdStore.Options.of(endpoints)
          .withPrefix(a.get("--etcd-prefix", EtcdStore.Options.DEFAULT_PREFIX));
      if (a.has("--etcd-lease-ttl")) {
        eo = eo.withLeaseTtl(SecurityCommands.duration(a.get("--etcd-lease-ttl", null)));
      }
      if (a.has("--etcd-timeout")) {
        eo = eo.withStartTimeout(SecurityCommands.duration(a.get("--etcd-timeout", null)));
      }
      io.keelson.control.store.etcd.EtcdSecurity security;
      try {
        security = etcdSecurity(a, endpoints);
      } catch (IllegalArgumentException | java.io.IOException bad) {
        System.err.println("keelson control: " + bad.getMessage());
        return 2;
      }
      o = o.withEtcd(eo.withSecurity(security));
    } else if (!storeKind.equals("embedded")) {
      System.err.println("keelson control: --store '" + storeKind + "': expected embedded or etcd");
      return 2;
    }
    java.util.concurrent.CountDownLatch terminate = TerminationSignals.install();
    ControlPlane cp;
    try {
      cp = ControlPlane.start(o);
      if (a.has("--enable-quic-listeners") || "true".equalsIgnoreCase(System.getenv("PILOT_ENABLE_QUIC_LISTENERS"))) {
        cp.xds.setQuicListeners(true);
      }
    } catch (PolicyException e) {
      System.err.println("keelson control: the saved state cannot be loaded:\n" + e.getMessage());
      return 1;
    } catch (java.io.IOException e) {
      if (e.getCause() instanceof io.keelson.control.ca.CaException || e.getCause() instanceof EtcdException) {
        System.err.println("keelson control: " + e.getMessage());
        return 1;
      }
      throw e;
    }
    System.out.println("keelson control: xDS on " + o.bind() + ":" + cp.xds.port() + ", HTTP API on http://" + o.bind()
        + ":" + cp.api.port() + (cp.security.securePort() == null ? ""
            : ", secure xDS + certificates on " + o.bind() + ":" + cp.security.securePort().port()
                + " (trust domain " + cp.security.ca().trustDomain() + ")"));
    terminate.await();
    cp.close();
    return 0;
  }

  /** {@code text} as a protocol detection timeout ({@code 100ms}, {@code 5s}, {@code 1m}, {@code 0s}), or null. */
  static java.time.Duration detectionTimeout(String text) {
    if (text == null) {
      return null;
    }
    if (text.matches("\\d{1,9}ms")) {
      return java.time.Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
    }
    if (text.matches("\\d{1,9}[smh]")) {
      return SecurityCommands.duration(text);
    }
    return null;
  }

  /**
   * etcdctl's TLS and auth flags under {@code --etcd-}: checked here (files readable and parsed, TLS files only with
   * https endpoints) so a mistake stops start-up with the flag's name.
   */
  private static io.keelson.control.store.etcd.EtcdSecurity etcdSecurity(Args a, java.util.List<java.net.URI> endpoints)
      throws java.io.IOException {
    var security = new io.keelson.control.store.etcd.EtcdSecurity(path(a, "--etcd-cacert"), path(a, "--etcd-cert"),
        path(a, "--etcd-key"), a.get("--etcd-user", null), path(a, "--etcd-password-file"));
    boolean https = endpoints.stream().anyMatch(u -> "https".equals(u.getScheme()));
    if (https && endpoints.stream().anyMatch(u -> "http".equals(u.getScheme()))) {
      throw new IllegalArgumentException("--etcd-endpoints mixes http:// and https://; expected one scheme for every "
          + "member of one etcd cluster");
    }
    if (security.hasAuth() && !https) {
      throw new IllegalArgumentException("--etcd-user over http:// would send the password and etcd's token in clear "
          + "text; expected https:// --etcd-endpoints (with --etcd-cacert)");
    }
    if (security.hasTlsFiles() && !https) {
      throw new IllegalArgumentException("--etcd-cacert/--etcd-cert/--etcd-key need https:// --etcd-endpoints; "
          + "the endpoints given are http://");
    }
    if (https) {
      security.sslContext(); // reads and checks every TLS file now
    }
    if (security.hasAuth()) {
      security.password();
    }
    return security;
  }
}
