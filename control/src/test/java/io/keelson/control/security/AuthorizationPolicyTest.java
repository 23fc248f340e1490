package io.keelson.control.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.keelson.control.policy.Policy;
import io.keelson.control.policy.PolicyException;
import io.keelson.control.policy.PolicyParser;
import io.keelson.dataplane.rbac.RbacDecision;
import io.keelson.dataplane.rbac.RbacTranslator;
import io.keelson.dataplane.rbac.SimpleRequestView;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Istio AuthorizationPolicy YAML → Envoy RBAC → Keelson's RBAC engine: decisions as Istio documents them.
 */
class AuthorizationPolicyTest {
  private static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";
  private static final String CART = "spiffe://cluster.local/ns/shop/sa/cart";
  private static final String OPS = "spiffe://cluster.local/ns/ops/sa/admin";
  private static final Map<String, String> PRODUCT = Map.of("app", "product");

  static List<Policy.AuthorizationPolicy> parse(String yaml) throws PolicyException {
    return PolicyParser.parse("authz.yaml", yaml).policies().stream()
        .map(p -> (Policy.AuthorizationPolicy) p).toList();
  }

  /** DENY engine first, then ALLOW (if any ALLOW policy selects the workload, nothing else gets through). */
  static RbacDecision decide(WorkloadAuthorization w, SimpleRequestView v) throws Exception {
    if (w.deny() != null) {
      RbacDecision d = RbacTranslator.compile(w.deny(), "deny").evaluate(v);
      if (!d.allowed()) {
        return d;
      }
    }
    return w.allow() == null ? new RbacDecision(true, null) : RbacTranslator.compile(w.allow(), "allow").evaluate(v);
  }

  static WorkloadAuthorization http(String yaml, String ns, Map<String, String> labels) throws Exception {
    return AuthorizationTranslator.http(ns, labels, parse(yaml), AuthorizationTranslator.DEFAULT_ROOT_NAMESPACE);
  }

  private static String policy(String name, String ns, String spec) {
    return """
        apiVersion: security.istio.io/v1
        kind: AuthorizationPolicy
        metadata: { name: %s, namespace: %s }
        spec:
        %s
        ---
        """.formatted(name, ns, spec.indent(2));
  }

  @Test
  void allowByPrincipalMethodAndPathPrefixDeniesEverythingElse() throws Exception {
    WorkloadAuthorization w = http(policy("product-viewer", "shop", """
        selector: { matchLabels: { app: product } }
        action: ALLOW
        rules:
        - from: [ { source: { principals: [ "cluster.local/ns/shop/sa/web" ] } } ]
          to: [ { operation: { methods: [ GET, HEAD ], paths: [ "/items/*", "/health" ] } } ]
        """), "shop", PRODUCT);

    assertThat(decide(w, SimpleRequestView.http("GET", "/items/42").peer(WEB)))
        .isEqualTo(new RbacDecision(true, "ns[shop]-policy[product-viewer]-rule[0]"));
    assertThat(decide(w, SimpleRequestView.http("HEAD", "/health").peer(WEB)).allowed()).isTrue();
    assertThat(decide(w, SimpleRequestView.http("GET", "/healthz").peer(WEB)).allowed()).as("exact path").isFalse();
    assertThat(decide(w, SimpleRequestView.http("POST", "/items/42").peer(WEB)).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/items/42").peer(CART)).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/items/42")).allowed()).as("no mTLS identity").isFalse();
  }

  @Test
  void namespacesAndNotPrincipals() throws Exception {
    WorkloadAuthorization w = http(policy("same-ns", "shop", """
        rules:
        - from: [ { source: { namespaces: [ shop ], notPrincipals: [ "cluster.local/ns/shop/sa/cart" ] } } ]
        """), "shop", PRODUCT);
    assertThat(decide(w, SimpleRequestView.http("DELETE", "/x").peer(WEB)).allowed()).isTrue();
    assertThat(decide(w, SimpleRequestView.http("GET", "/x").peer(CART)).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/x").peer(OPS)).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/x").peer("spiffe://cluster.local/ns/shopping/sa/web"))
        .allowed()).as("namespace is a whole path segment").isFalse();
  }

  @Test
  void denyIsEvaluatedBeforeAllow() throws Exception {
    WorkloadAuthorization w = http(policy("allow-all-mtls", "shop", """
        rules: [ { from: [ { source: { principals: [ "*" ] } } ] }]
        """) + policy("no-admin", "shop", """
        action: DENY
        rules:
        - to: [ { operation: { paths: [ "/admin*", "*/debug" ] } } ]
        """), "shop", PRODUCT);
    assertThat(decide(w, SimpleRequestView.http("GET", "/items").peer(OPS)).allowed()).isTrue();
    assertThat(decide(w, SimpleRequestView.http("GET", "/admin/users").peer(OPS)))
        .isEqualTo(new RbacDecision(false, "ns[shop]-policy[no-admin]-rule[0]"));
    assertThat(decide(w, SimpleRequestView.http("GET", "/a/debug").peer(OPS)).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/items")).allowed()).as("plaintext: no principal").isFalse();
  }

  @Test
  void anEmptyAllowPolicyDeniesEverythingAndAnAllowWithAnEmptyRuleAllowsEverything() throws Exception {
    WorkloadAuthorization nothing = http(policy("allow-nothing", "shop", "{}"), "shop", PRODUCT);
    assertThat(nothing.allow()).isNotNull();
    assertThat(decide(nothing, SimpleRequestView.http("GET", "/").peer(WEB)).allowed()).isFalse();

    WorkloadAuthorization everything = http(policy("allow-all", "shop", "rules: [ {} ]"), "shop", PRODUCT);
    assertThat(decide(everything, SimpleRequestView.http("GET", "/")).allowed()).isTrue();

    WorkloadAuthorization denyNothing = http(policy("deny-nothing", "shop", "action: DENY"), "shop", PRODUCT);
    assertThat(decide(denyNothing, SimpleRequestView.http("GET", "/")).allowed()).isTrue();
  }

  @Test
  void selectorsNamespacesAndTheRootNamespaceDecideWhichWorkloadsAPolicyCovers() throws Exception {
    String yaml = policy("db-only", "shop", """
        selector: { matchLabels: { app: db } }
        rules: [ { from: [ { source: { principals: [ "cluster.local/ns/shop/sa/cart" ] } } ] } ]
        """) + policy("mesh-deny-debug", "istio-system", """
        action: DENY
        rules: [ { to: [ { operation: { paths: [ "/debug" ] } } ] } ]
        """) + policy("other-ns", "ops", "{}");
    WorkloadAuthorization product = http(yaml, "shop", PRODUCT);
    assertThat(product.allow()).as("db-only does not select app=product; ops is another namespace").isNull();
    assertThat(decide(product, SimpleRequestView.http("GET", "/x")).allowed()).isTrue();
    assertThat(decide(product, SimpleRequestView.http("GET", "/debug")).allowed()).as("mesh-wide DENY").isFalse();

    WorkloadAuthorization db = http(yaml, "shop", Map.of("app", "db", "version", "v1"));
    assertThat(decide(db, SimpleRequestView.http("GET", "/x").peer(CART)).allowed()).isTrue();
    assertThat(decide(db, SimpleRequestView.http("GET", "/x").peer(WEB)).allowed()).isFalse();
    assertThat(http(yaml, "other", PRODUCT).allow()).isNull();
  }

  @Test
  void ipBlocksHostsPortsAndNegations() throws Exception {
    WorkloadAuthorization w = http(policy("p", "shop", """
        rules:
        - from: [ { source: { ipBlocks: [ "10.0.0.0/8" ], notIpBlocks: [ "10.9.0.0/16" ] } } ]
          to: [ { operation: { hosts: [ "product.shop.svc*", "*.example.com" ], ports: [ "8080" ], notMethods: [ DELETE ] } } ]
        """), "shop", PRODUCT);
    SimpleRequestView ok = SimpleRequestView.http("GET", "/").source("10.1.2.3").host("product.shop.svc:8080")
        .destinationPort(8080);
    assertThat(decide(w, ok).allowed()).isTrue();
    assertThat(decide(w, SimpleRequestView.http("GET", "/").source("10.1.2.3").host("API.Example.com")
        .destinationPort(8080)).allowed()).as("hosts are case-insensitive").isTrue();
    assertThat(decide(w, SimpleRequestView.http("DELETE", "/").source("10.1.2.3").host("product.shop.svc")
        .destinationPort(8080)).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/").source("10.9.2.3").host("product.shop.svc")
        .destinationPort(8080)).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/").source("192.168.0.1").host("product.shop.svc")
        .destinationPort(8080)).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/").source("10.1.2.3").host("evil.com")
        .destinationPort(8080)).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/").source("10.1.2.3").host("product.shop.svc")
        .destinationPort(9090)).allowed()).isFalse();
  }

  @Test
  void whenConditionsOnHeadersSourceNamespaceAndIp() throws Exception {
    WorkloadAuthorization w = http(policy("p", "shop", """
        rules:
        - when:
          - { key: "request.headers[x-api-key]", values: [ "key-*" ] }
          - { key: source.namespace, notValues: [ ops ] }
          - { key: source.ip, values: [ "127.0.0.1" ] }
        """), "shop", PRODUCT);
    assertThat(decide(w, SimpleRequestView.http("GET", "/").header("X-Api-Key", "key-1").peer(WEB).source("127.0.0.1"))
        .allowed()).isTrue();
    assertThat(decide(w, SimpleRequestView.http("GET", "/").header("x-api-key", "nope").peer(WEB).source("127.0.0.1"))
        .allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/").peer(WEB).source("127.0.0.1")).allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/").header("x-api-key", "key-1").peer(OPS).source("127.0.0.1"))
        .allowed()).isFalse();
    assertThat(decide(w, SimpleRequestView.http("GET", "/").header("x-api-key", "key-1").peer(WEB).source("10.0.0.1"))
        .allowed()).isFalse();
  }

  @Test
  void forTcpAllowRulesWithHttpFieldsAreDroppedAndDenyRulesLoseThem() throws Exception {
    String yaml = policy("allow", "shop", """
        rules:
        - to: [ { operation: { methods: [ GET ] } } ]
        - from: [ { source: { principals: [ "cluster.local/ns/shop/sa/web" ] } } ]
          to: [ { operation: { ports: [ "5432" ] } } ]
        """) + policy("deny", "shop", """
        action: DENY
        rules: [ { to: [ { operation: { ports: [ "6379" ], paths: [ "/flush" ] } } ] } ]
        """);
    WorkloadAuthorization w = AuthorizationTranslator.tcp("shop", PRODUCT, parse(yaml), "istio-system");
    assertThat(w.allow().getPoliciesMap()).containsOnlyKeys("ns[shop]-policy[allow]-rule[1]");
    assertThat(decide(w, new SimpleRequestView().destinationPort(5432).peer(WEB)).allowed()).isTrue();
    assertThat(decide(w, new SimpleRequestView().destinationPort(5432).peer(CART)).allowed()).isFalse();
    assertThat(decide(w, new SimpleRequestView().destinationPort(6379).peer(WEB)).policy())
        .isEqualTo("ns[shop]-policy[deny]-rule[0]");
    assertThat(w.networkFilters("tcp.").getFirst().getName()).isEqualTo("envoy.filters.network.rbac");
  }

  @Test
  void httpFiltersPutDenyBeforeAllow() throws Exception {
    WorkloadAuthorization w = http(policy("a", "shop", "rules: [ {} ]") + policy("d", "shop", "action: DENY\nrules: [ {} ]"),
        "shop", PRODUCT);
    var filters = w.httpFilters();
    assertThat(filters).hasSize(2);
    RBAC first = filters.getFirst().getTypedConfig()
        .unpack(io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC.class).getRules();
    assertThat(first.getAction()).isEqualTo(RBAC.Action.DENY);
    // the translated protos pass the data plane's own checks
    io.keelson.dataplane.rbac.HttpRbacConfig.from(filters.get(1).getTypedConfig());
  }

  /** Envoy refuses an RBAC CidrRange longer than its address: refused by field instead of NACKed by every proxy. */
  @Test
  void ipBlocksLongerThanTheirAddressOrNotAnAddressAreRefused() {
    for (String bad : List.of("10.0.0.0/40", "::/200", "10.1.2")) {
      assertThatThrownBy(() -> parse(policy("p", "shop", """
          action: ALLOW
          rules:
          - from: [ { source: { ipBlocks: [ "%s" ] } } ]
          """.formatted(bad)))).as(bad).isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.getMessage())
          .contains("ipBlocks: '" + bad + "' is not an IP address or CIDR block"));
    }
  }

  @Test
  void whatCannotBeEnforcedIsRejectedByName() {
    assertThatThrownBy(() -> parse(policy("p", "shop", """
        action: AUDIT
        rules:
        - from: [ { source: { serviceAccounts: [ "*" ], ipBlocks: [ "10.0.0.0/99x" ] } } ]
          to: [ { operation: { ports: [ "http" ] } } ]
          when: [ { key: "request.auth.claim", values: [ x ] }, { key: source.user, values: [ x ] } ]
        """))).isInstanceOfSatisfying(PolicyException.class, e -> assertThat(e.getMessage())
        .contains("spec.action: AUDIT is not supported; expected ALLOW, DENY or CUSTOM")
        .contains("serviceAccounts is not supported")
        .contains("'10.0.0.0/99x' is not an IP address or CIDR block")
        .contains("'http' is not a port")
        .contains("'request.auth.claim' is not supported")
        .contains("'source.user' is not supported"));
  }
}
