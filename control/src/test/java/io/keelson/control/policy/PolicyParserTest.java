package io.keelson.control.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.keelson.control.xds.Mesh;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class PolicyParserTest {

  /** The errors of a document that must be rejected (shared by the parser tests of this package). */
  static List<String> errors(String yaml) {
    try {
      PolicyParser.parse("bad.yaml", yaml);
    } catch (PolicyException e) {
      return e.errors().stream().map(PolicyError::toString).toList();
    }
    throw new AssertionError("expected the document to be rejected");
  }

  @Test
  void istioCanaryExampleParsesAsWritten() throws Exception {
    var dr = (Policy.DestinationRule) PolicyParser.parse("dr.yaml", Mesh.resource("/canary/destination-rule.yaml"))
        .policies().getFirst();
    assertThat(dr.host()).isEqualTo("product-service");
    assertThat(dr.subsets()).extracting(Policy.Subset::name).containsExactly("v1", "v2");
    assertThat(dr.subsets().get(1).labels()).containsEntry("version", "v2");
    var vs = (Policy.Routes) PolicyParser.parse("vs.yaml", Mesh.resource("/canary/virtual-service.yaml"))
        .policies().getFirst();
    assertThat(vs.services()).containsExactly("product-service");
    assertThat(vs.rules().getFirst().backends()).containsExactly(
        new Policy.Backend("product-service", "v1", 0, 90), new Policy.Backend("product-service", "v2", 0, 10));
  }

  @Test
  void unsupportedIstioFieldsAreRejectedByName() {
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [ reviews.default.svc.cluster.local ]
          http:
          - route:
            - destination: { host: reviews, subset: v1 }
            retries: { attempts: 3, retryOn: "5xx,teapot" }
            fault: { abort: { http2Error: CANCEL } }
        """)).containsExactly(
        "bad.yaml: VirtualService/reviews: spec.http[0].retries.retryOn: 'teapot' is not supported; expected HTTP status codes or "
            + "5xx, cancelled, connect-failure, deadline-exceeded, gateway-error, refused-stream, reset, resource-exhausted, "
            + "retriable-4xx, retriable-status-codes, unavailable",
        "bad.yaml: VirtualService/reviews: spec.http[0].fault.abort.http2Error: HTTP/2 error aborts are not supported "
            + "(istiod does not implement them); use httpStatus",
        "bad.yaml: VirtualService/reviews: spec.http[0].fault.abort: expected exactly one of httpStatus, grpcStatus");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: DestinationRule
        metadata: { name: reviews }
        spec:
          host: reviews
          trafficPolicy:
            loadBalancer: { simple: PASSTHROUGH }
            outlierDetection: { consecutiveErrors: 5 }
        """)).containsExactly(
        "bad.yaml: DestinationRule/reviews: spec.trafficPolicy.loadBalancer.simple: 'PASSTHROUGH' is not supported; "
            + "expected one of LEAST_REQUEST, RANDOM, ROUND_ROBIN",
        "bad.yaml: DestinationRule/reviews: spec.trafficPolicy.outlierDetection.consecutiveErrors: deprecated by Istio; use consecutive5xxErrors");
  }

  @Test
  void errorsNameTheFileDocumentFieldPathAndReason() {
    assertThat(errors("""
        apiVersion: keelson.io/v1alpha1
        kind: Service
        metadata: { name: ok }
        spec: { ports: [ { port: 80 } ] }
        ---
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [ reviews ]
          http:
          - match: [ { uri: { prefix: /a, exact: /b } } ]
            route:
            - destination: { host: reviews, subset: v1 }
              weight: 50
            - destination: { host: reviews, subset: v2 }
            timeout: 10 seconds
        ---
        apiVersion: keelson.io/v1alpha1
        kind: Workload
        metadata: { name: w }
        spec: { service: ok, address: 10.0.0.1, port: 70000, colour: blue }
        """)).containsExactly(
        "bad.yaml: VirtualService/reviews: spec.http[0].match[0].uri: expected exactly one of exact, prefix, regex",
        "bad.yaml: VirtualService/reviews: spec.http[0].route[1].weight: is required when a route has several destinations",
        "bad.yaml: VirtualService/reviews: spec.http[0].timeout: '10 seconds' is not a duration; expected e.g. 10s, 1.5s, 500ms or 1m30s",
        "bad.yaml: Workload/w: spec.colour: unknown field; expected one of address, labels, locality, port, service",
        "bad.yaml: Workload/w: spec.port: expected a whole number from 1 to 65535, got 70000");
  }

  @Test
  void httpRouteInMeshFormParsesMatchesFiltersAndWeights() throws Exception {
    var parsed = PolicyParser.parse("route.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: products }
        spec:
          parentRefs: [ { group: "", kind: Service, name: product-service, port: 80 } ]
          rules:
          - matches:
            - path: { type: RegularExpression, value: "/items/[0-9]+" }
              headers: [ { name: x-canary, value: "true" } ]
              queryParams: [ { type: Exact, name: debug, value: "1" } ]
              method: GET
            filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: { set: [ { name: x-route, value: canary } ], remove: [ x-drop ] }
            - type: URLRewrite
              urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /v2 } }
            backendRefs:
            - { name: product-service, port: 80, weight: 3 }
            - { name: product-service, port: 80, weight: 1 }
            timeouts: { request: 1m30s }
        """);
    var route = (Policy.Routes) parsed.policies().getFirst();
    var rule = route.rules().getFirst();
    assertThat(rule.matches().getFirst().path()).isEqualTo(new Policy.StringMatch(Policy.MatchType.REGEX, "/items/[0-9]+"));
    assertThat(rule.matches().getFirst().method()).isEqualTo("GET");
    assertThat(rule.requestHeaders().set()).containsEntry("x-route", "canary");
    assertThat(rule.rewrite().prefix()).isEqualTo("/v2");
    assertThat(rule.backends()).extracting(Policy.Backend::weight).containsExactly(3, 1);
    assertThat(rule.timeout()).isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void virtualServiceUriRegexRewriteAndHttpRouteReplaceFullPathBecomeRegexRewrites() throws Exception {
    var vs = (Policy.Routes) PolicyParser.parse("vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: users }
        spec:
          hosts: [ users ]
          http:
          - match: [ { uri: { prefix: /v1/ } } ]
            rewrite: { uriRegexRewrite: { match: "^/v1/([^/]+)/([0-9]+)$", rewrite: '/\\1/\\2' }, authority: users-v2 }
            route: [ { destination: { host: users } } ]
        """).policies().getFirst();
    assertThat(vs.rules().getFirst().rewrite())
        .isEqualTo(new Policy.Rewrite(null, "users-v2", "^/v1/([^/]+)/([0-9]+)$", "/\\1/\\2"));
    var route = (Policy.Routes) PolicyParser.parse("route.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: users }
        spec:
          parentRefs: [ { group: "", kind: Service, name: users, port: 80 } ]
          rules:
          - filters: [ { type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /all/users } } } ]
            backendRefs: [ { name: users, port: 80 } ]
        """).policies().getFirst();
    // As istiod writes it: uriRegexRewrite {match: "/.*", rewrite: <the path>}.
    assertThat(route.rules().getFirst().rewrite()).isEqualTo(new Policy.Rewrite(null, null, "/.*", "/all/users"));
  }

  @Test
  void regexRewriteErrorsAreNamed() {
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: users }
        spec:
          hosts: [ users ]
          http:
          - rewrite: { uri: /v2, uriRegexRewrite: { match: "^/v1", rewrite: /v2 } }
            route: [ { destination: { host: users } } ]
          - rewrite: { uriRegexRewrite: { match: "^/v1/(" , rewrite: /v2 } }
            route: [ { destination: { host: users } } ]
          - rewrite: { uriRegexRewrite: { match: "^/v1/(.*)", rewrite: '/\\2' } }
            route: [ { destination: { host: users } } ]
          - rewrite: { uriRegexRewrite: { match: "^/v1" } }
            route: [ { destination: { host: users } } ]
        """)).containsExactly(
        "bad.yaml: VirtualService/users: spec.http[0].rewrite.uriRegexRewrite: is set together with uri; "
            + "expected only one of uri and uriRegexRewrite",
        "bad.yaml: VirtualService/users: spec.http[1].rewrite.uriRegexRewrite.match: '^/v1/(' is not a valid regular "
            + "expression: Unclosed group near index 6",
        "bad.yaml: VirtualService/users: spec.http[2].rewrite.uriRegexRewrite.rewrite: '/\\2' \\2 refers to capture group 2 "
            + "but the pattern has 1 group (RE2 would leave the path unchanged)",
        "bad.yaml: VirtualService/users: spec.http[3].rewrite.uriRegexRewrite.rewrite: is required");
    assertThat(errors("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: users }
        spec:
          parentRefs: [ { group: "", kind: Service, name: users, port: 80 } ]
          rules:
          - filters: [ { type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath } } } ]
            backendRefs: [ { name: users, port: 80 } ]
          - filters: [ { type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: "/a?b=c" } } } ]
            backendRefs: [ { name: users, port: 80 } ]
        """)).containsExactly(
        "bad.yaml: HTTPRoute/users: spec.rules[0].filters[0].urlRewrite.path.replaceFullPath: is required",
        "bad.yaml: HTTPRoute/users: spec.rules[1].filters[0].urlRewrite.path.replaceFullPath: '/a?b=c' is not a path; "
            + "expected path characters (percent-encoded where needed), no query or fragment");
  }

  @Test
  void httpRouteRejectsBadParentsAndRetriesByName() {
    assertThat(errors("""
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: r }
        spec:
          parentRefs: [ { name: my-gateway, port: 80 }, { kind: ConfigMap, name: x } ]
          rules:
          - backendRefs: [ { name: svc, port: 80 } ]
            filters: [ { type: RequestMirror, requestMirror: { backendRef: { name: shadow, port: 80 }, percent: 101 } } ]
            sessionPersistence: { sessionName: s }
        """)).containsExactly(
        "bad.yaml: HTTPRoute/r: spec.parentRefs[1].kind: parent kind 'ConfigMap' is not supported; expected Gateway or"
            + " Service (mesh routing, with group: \"\")",
        "bad.yaml: HTTPRoute/r: spec.rules[0].sessionPersistence: session persistence is not supported yet",
        "bad.yaml: HTTPRoute/r: spec.rules[0].filters[0].requestMirror.percent: expected a whole number from 0 to 100, got 101");
  }

  @Test
  void httpRouteRequestMirrorAndVirtualServiceMirrorBecomeMirrors() throws Exception {
    var gw = (Policy.Routes) PolicyParser.parseFiles("ok.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: r }
        spec:
          parentRefs: [ { kind: Service, group: "", name: svc } ]
          rules:
          - backendRefs: [ { name: svc, port: 80 } ]
            filters:
            - { type: RequestMirror, requestMirror: { backendRef: { name: shadow, port: 80 } } }
            - { type: RequestMirror, requestMirror: { backendRef: { name: other }, fraction: { numerator: 1, denominator: 8 } } }
        """).policies().getFirst();
    assertThat(gw.rules().getFirst().mirrors()).containsExactly(
        new Policy.Mirror(new Policy.Backend("shadow", null, 80, 0), 1_000_000),
        new Policy.Mirror(new Policy.Backend("other", null, 0, 0), 125_000));

    var vs = (Policy.Routes) PolicyParser.parseFiles("ok.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: svc }
        spec:
          hosts: [ svc ]
          http:
          - route: [ { destination: { host: svc, subset: v1 } } ]
            mirror: { host: svc, subset: v2 }
            mirrorPercentage: { value: 12.5 }
        """).policies().getFirst();
    assertThat(vs.rules().getFirst().mirrors()).containsExactly(
        new Policy.Mirror(new Policy.Backend("svc", "v2", 0, 0), 125_000));
  }

  @Test
  void virtualServiceMirrorsBecomeOneMirrorEach() throws Exception {
    var vs = (Policy.Routes) PolicyParser.parseFiles("ok.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: svc }
        spec:
          hosts: [ svc ]
          http:
          - route: [ { destination: { host: svc, subset: v1 } } ]
            mirrors:
            - destination: { host: shadow.default.svc.cluster.local, subset: next, port: { number: 8080 } }
            - destination: { host: other }
              percentage: { value: 12.5 }
            - destination: { host: idle }
              percentage: { value: 0 }
        """).policies().getFirst();
    assertThat(vs.rules().getFirst().mirrors()).containsExactly(
        new Policy.Mirror(new Policy.Backend("shadow", "next", 8080, 0), 1_000_000, "mirrors[0].destination"),
        new Policy.Mirror(new Policy.Backend("other", null, 0, 0), 125_000, "mirrors[1].destination"),
        new Policy.Mirror(new Policy.Backend("idle", null, 0, 0), 0, "mirrors[2].destination"));
  }

  @Test
  void virtualServiceMirrorsAreCheckedAsIstiodChecksThem() {
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: svc }
        spec:
          hosts: [ svc ]
          http:
          - route: [ { destination: { host: svc } } ]
            mirror: { host: shadow }
            mirrors: [ { destination: { host: other } } ]
          - route: [ { destination: { host: svc } } ]
            mirrors:
            - { percentage: { value: 50 } }
            - { destination: { host: other }, percentage: { value: 101 }, colour: blue }
            mirrorPercentage: { value: 10 }
          - route: [ { destination: { host: svc } } ]
            mirror: { host: shadow }
            mirror_percent: 50
        """)).containsExactly(
        "bad.yaml: VirtualService/svc: spec.http[0].mirrors: a rule has either mirror or mirrors, not both (istiod rejects both)",
        "bad.yaml: VirtualService/svc: spec.http[1].mirrorPercentage: applies to mirror only; set percentage on each of mirrors",
        "bad.yaml: VirtualService/svc: spec.http[1].mirrors[0].destination: is required",
        "bad.yaml: VirtualService/svc: spec.http[1].mirrors[1].colour: unknown field; expected one of destination, percentage",
        "bad.yaml: VirtualService/svc: spec.http[1].mirrors[1].percentage.value: expected a number from 0.0 to 100.0, got 101",
        "bad.yaml: VirtualService/svc: spec.http[2].mirror_percent: mirror_percent is deprecated in Istio; use mirrorPercentage");
  }

  @Test
  void virtualServiceDirectResponseIsReadAsIstiodTranslatesIt() throws Exception {
    var parsed = PolicyParser.parseFiles("ok.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: svc }
        spec:
          hosts: [ svc ]
          http:
          - match: [ { uri: { prefix: /teapot } } ]
            directResponse: { status: 418, body: { string: "short and stout" } }
            headers: { response: { set: { x-served-by: mesh } } }
            timeout: 2s
          - match: [ { uri: { prefix: /raw } } ]
            directResponse: { status: 200, body: { bytes: "aGVsbG8=" } }
          - directResponse: { status: 503 }
        """);
    var vs = (Policy.Routes) parsed.policies().getFirst();
    Policy.Rule teapot = vs.rules().get(0);
    assertThat(teapot.directResponse()).isEqualTo(new Policy.DirectResponse(418, "short and stout", null));
    assertThat(teapot.backends()).isEmpty();
    assertThat(teapot.responseHeaders().set()).containsEntry("x-served-by", "mesh");
    assertThat(vs.rules().get(1).directResponse()).isEqualTo(new Policy.DirectResponse(200, null, "aGVsbG8="));
    assertThat(vs.rules().get(2).directResponse()).isEqualTo(new Policy.DirectResponse(503, null, null));
    // istiod drops a timeout on a direct response without a word; Keelson says so
    assertThat(parsed.warnings()).extracting(PolicyError::toString).containsExactly(
        "ok.yaml: VirtualService/svc: spec.http[0].timeout: ignored: a rule with a directResponse sends no request upstream");
  }

  @Test
  void virtualServiceDirectResponseIsCheckedAsIstiodChecksIt() {
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: svc }
        spec:
          hosts: [ svc ]
          http:
          - directResponse: { body: { string: x } }
          - directResponse: { status: 199 }
          - directResponse: { status: 600 }
          - route: [ { destination: { host: svc } } ]
            directResponse: { status: 200 }
          - redirect: { uri: /elsewhere }
            directResponse: { status: 200 }
          - directResponse: { status: 200, body: { string: x, bytes: eA== } }
            fault: { abort: { httpStatus: 500, percentage: { value: 100 } } }
            rewrite: { uri: /x }
            mirror: { host: shadow }
          - directResponse: { status: 200, body: { bytes: "not base64!" } }
        """)).containsExactly(
        "bad.yaml: VirtualService/svc: spec.http[0].directResponse.status: is required",
        "bad.yaml: VirtualService/svc: spec.http[1].directResponse.status: expected a whole number from 200 to 599, got 199",
        "bad.yaml: VirtualService/svc: spec.http[2].directResponse.status: expected a whole number from 200 to 599, got 600",
        "bad.yaml: VirtualService/svc: spec.http[3].directResponse: a rule has either route or directResponse, not both",
        "bad.yaml: VirtualService/svc: spec.http[4].directResponse: a rule has either redirect or directResponse, not both",
        "bad.yaml: VirtualService/svc: spec.http[5].fault: a rule with a directResponse answers itself; it has no request "
            + "to delay or abort (istiod rejects fault with directResponse)",
        "bad.yaml: VirtualService/svc: spec.http[5].rewrite: a rule with a directResponse answers itself; it has no request "
            + "to rewrite (istiod rejects rewrite with directResponse)",
        "bad.yaml: VirtualService/svc: spec.http[5].directResponse.body: expected one of string, bytes, not both",
        "bad.yaml: VirtualService/svc: spec.http[5].mirror: a rule with a directResponse answers itself; it has no request to mirror",
        "bad.yaml: VirtualService/svc: spec.http[6].directResponse.body.bytes: is not base64: Illegal base64 character 20");
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: svc }
        spec:
          hosts: [ svc ]
          http:
          - directResponse: { status: 200, body: { string: "%s" } }
        """.formatted("x".repeat((1 << 20) + 1)))).containsExactly(
        "bad.yaml: VirtualService/svc: spec.http[0].directResponse.body: is 1048577 bytes; expected at most 1 MiB (istiod's limit)");
  }

  @Test
  void aRegexThatDoesNotCompileIsRejected() {
    assertThat(errors(Mesh.resource("/canary/virtual-service.yaml").replace("  - route:",
        "  - match: [ { uri: { regex: \"/items/(\" } } ]\n    route:"))).containsExactly(
        "bad.yaml: VirtualService/product-service: spec.http[0].match[0].uri.regex: '/items/(' is not a valid regular "
            + "expression: Unclosed group near index 8");
  }

  @Test
  void weightsThatAddUpToZeroAreRejected() {
    assertThat(errors(Mesh.resource("/canary/virtual-service.yaml").replace("weight: 90", "weight: 0")
        .replace("weight: 10", "weight: 0"))).containsExactly("bad.yaml: VirtualService/product-service: spec.http[0].route: "
        + "the weights add up to 0; expected at least one destination with a weight above 0");
  }

  @Test
  void unknownKindsAndBrokenYamlAreReported() {
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: WorkloadGroup
        metadata: { name: g }
        spec: {}
        """)).containsExactly("bad.yaml: WorkloadGroup/g: kind: 'WorkloadGroup' is not a kind of networking.istio.io/v1; "
        + "expected one of VirtualService, DestinationRule, ServiceEntry, WorkloadEntry, Gateway, Sidecar, EnvoyFilter");
    assertThatThrownBy(() -> PolicyParser.parse("bad.yaml", "kind: [unclosed"))
        .isInstanceOf(PolicyException.class).hasMessageStartingWith("bad.yaml: document: : not valid YAML:");
  }
  @Test
  void istioFaultIsReadAsIstiodTranslatesIt() throws Exception {
    Policy.Routes vs = (Policy.Routes) PolicyParser.parse("vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [ reviews ]
          http:
          - fault: { delay: { fixedDelay: 1.5s, percentage: { value: 12.5 } }, abort: { httpStatus: 503, percentage: { value: 100 } } }
            route: [ { destination: { host: reviews } } ]
          - fault: { delay: { fixedDelay: 5s, percent: 7 }, abort: { grpcStatus: UNAVAILABLE } }
            route: [ { destination: { host: reviews } } ]
          - fault: { delay: { fixedDelay: 5s } }
            route: [ { destination: { host: reviews } } ]
        """).policies().getFirst();
    assertThat(vs.rules().get(0).fault()).isEqualTo(new Policy.Fault(java.time.Duration.ofMillis(1500), 125_000, 503, -1,
        1_000_000));
    // deprecated integer percent; an abort without percentage aborts nothing (Envoy's reading of an absent percentage)
    assertThat(vs.rules().get(1).fault()).isEqualTo(new Policy.Fault(java.time.Duration.ofSeconds(5), 70_000, 0, 14, 0));
    // a delay without percentage delays nothing, as istiod translates it
    assertThat(vs.rules().get(2).fault()).isEqualTo(new Policy.Fault(java.time.Duration.ofSeconds(5), 0, 0, -1, 0));
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [ reviews ]
          http:
          - fault: { delay: { exponentialDelay: 1s }, abort: { grpcStatus: TEAPOT, percentage: { value: 101 } } }
            route: [ { destination: { host: reviews } } ]
          - fault: {}
            route: [ { destination: { host: reviews } } ]
        """)).containsExactly(
        "bad.yaml: VirtualService/reviews: spec.http[0].fault.delay.exponentialDelay: exponential delays are not supported "
            + "(istiod drops them too); use fixedDelay",
        "bad.yaml: VirtualService/reviews: spec.http[0].fault.delay.fixedDelay: is required",
        "bad.yaml: VirtualService/reviews: spec.http[0].fault.abort.grpcStatus: 'TEAPOT' is not a gRPC status; expected one of "
            + "OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, "
            + "RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, "
            + "DATA_LOSS, UNAUTHENTICATED",
        "bad.yaml: VirtualService/reviews: spec.http[0].fault.abort.percentage.value: expected a number from 0.0 to 100.0, got 101",
        "bad.yaml: VirtualService/reviews: spec.http[1].fault: a fault needs a delay or an abort (or both)");
  }

  @Test
  void istioCorsPolicyIsReadAsIstiodTranslatesIt() throws Exception {
    Policy.Routes vs = (Policy.Routes) PolicyParser.parse("vs.yaml", """
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [ reviews ]
          http:
          - corsPolicy:
              allowOrigins: [ { exact: "https://app.example.com" }, { prefix: "https://dev." }, { regex: "https://.*[.]example[.]org" } ]
              allowMethods: [ GET, POST ]
              allowHeaders: [ content-type, x-token ]
              exposeHeaders: [ x-request-id ]
              maxAge: 24h
              allowCredentials: true
              unmatchedPreflights: IGNORE
            route: [ { destination: { host: reviews } } ]
          - corsPolicy: { allowOrigin: [ "https://old.example.com", "*" ] }
            route: [ { destination: { host: reviews } } ]
          - route: [ { destination: { host: reviews } } ]
        """).policies().getFirst();
    assertThat(vs.rules().get(0).cors()).isEqualTo(new Policy.Cors(List.of(
        new Policy.StringMatch(Policy.MatchType.EXACT, "https://app.example.com"),
        new Policy.StringMatch(Policy.MatchType.PREFIX, "https://dev."),
        new Policy.StringMatch(Policy.MatchType.REGEX, "https://.*[.]example[.]org")),
        List.of("GET", "POST"), List.of("content-type", "x-token"), List.of("x-request-id"), Duration.ofHours(24), true, false));
    // the deprecated allowOrigin: exact strings
    assertThat(vs.rules().get(1).cors()).isEqualTo(new Policy.Cors(List.of(
        new Policy.StringMatch(Policy.MatchType.EXACT, "https://old.example.com"), new Policy.StringMatch(Policy.MatchType.EXACT, "*")),
        List.of(), List.of(), List.of(), null, null, null));
    assertThat(vs.rules().get(2).cors()).isNull();
    assertThat(errors("""
        apiVersion: networking.istio.io/v1
        kind: VirtualService
        metadata: { name: reviews }
        spec:
          hosts: [ reviews ]
          http:
          - corsPolicy:
              allowOrigins: [ { exact: a, prefix: b } ]
              allowMethods: [ "GET, POST" ]
              maxAge: forever
              unmatchedPreflights: DROP
              allowOriginRegex: [ x ]
            route: [ { destination: { host: reviews } } ]
        """)).containsExactly(
        "bad.yaml: VirtualService/reviews: spec.http[0].corsPolicy.allowOriginRegex: unknown field; expected one of "
            + "allowCredentials, allowHeaders, allowMethods, allowOrigin, allowOrigins, exposeHeaders, maxAge, unmatchedPreflights",
        "bad.yaml: VirtualService/reviews: spec.http[0].corsPolicy.allowOrigins[0]: expected exactly one of exact, prefix, regex",
        "bad.yaml: VirtualService/reviews: spec.http[0].corsPolicy.maxAge: 'forever' is not a duration; expected e.g. 10s, 1.5s, "
            + "500ms or 1m30s",
        "bad.yaml: VirtualService/reviews: spec.http[0].corsPolicy.unmatchedPreflights: 'DROP' is not supported; expected FORWARD "
            + "or IGNORE",
        "bad.yaml: VirtualService/reviews: spec.http[0].corsPolicy.allowMethods: 'GET, POST' is not a header name or method; "
            + "expected one token per item (no spaces or commas)");
  }

  @Test
  void httpRouteCorsFilterBecomesACorsPolicy() throws Exception {
    var gw = (Policy.Routes) PolicyParser.parse("ok.yaml", """
        apiVersion: gateway.networking.k8s.io/v1
        kind: HTTPRoute
        metadata: { name: r }
        spec:
          parentRefs: [ { group: "", kind: Service, name: svc, port: 80 } ]
          rules:
          - backendRefs: [ { name: svc, port: 80 } ]
            filters:
            - type: CORS
              cors:
                allowOrigins: [ "https://app.example.com", "https://*.example.org", "*" ]
                allowMethods: [ GET, PUT ]
                allowHeaders: [ "*" ]
                exposeHeaders: [ x-total ]
                allowCredentials: true
          - backendRefs: [ { name: svc, port: 80 } ]
            filters: [ { type: CORS, cors: { allowOrigins: [ "https://a.example" ], maxAge: 600 } } ]
        """).policies().getFirst();
    assertThat(gw.rules().get(0).cors()).isEqualTo(new Policy.Cors(List.of(
        new Policy.StringMatch(Policy.MatchType.EXACT, "https://app.example.com"),
        new Policy.StringMatch(Policy.MatchType.REGEX, "https://[^/]+\\.example\\.org"),
        new Policy.StringMatch(Policy.MatchType.EXACT, "*")),
        List.of("GET", "PUT"), List.of("*"), List.of("x-total"), Duration.ofSeconds(5), true, null));
    assertThat(gw.rules().get(1).cors().maxAge()).isEqualTo(Duration.ofSeconds(600));
    assertThat(gw.rules().get(1).cors().allowCredentials()).isNull();
  }
}
