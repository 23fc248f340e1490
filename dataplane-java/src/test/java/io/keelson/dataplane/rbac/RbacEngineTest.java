package io.keelson.dataplane.rbac;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.rbac.v3.RBAC;
import io.keelson.dataplane.config.ConfigException;
import org.junit.jupiter.api.Test;

/** Envoy RBAC semantics over request views, configs written as Envoy JSON. */
class RbacEngineTest {
  static RbacEngine engine(String json) throws Exception {
    RBAC.Builder b = RBAC.newBuilder();
    JsonFormat.parser().merge(json, b);
    return RbacTranslator.compile(b.build(), "rules");
  }

  private static final String WEB = "spiffe://cluster.local/ns/shop/sa/web";
  private static final String ADMIN = "spiffe://cluster.local/ns/ops/sa/admin";

  @Test
  void allowPolicyAllowsOnlyWhatSomePolicyMatchesAndNamesIt() throws Exception {
    RbacEngine e = engine("""
        {"action": "ALLOW", "policies": {
          "web-reads": {
            "permissions": [{"and_rules": {"rules": [
               {"or_rules": {"rules": [{"header": {"name": ":method", "string_match": {"exact": "GET"}}},
                                       {"header": {"name": ":method", "string_match": {"exact": "HEAD"}}}]}},
               {"url_path": {"path": {"prefix": "/items/"}}}]}}],
            "principals": [{"authenticated": {"principal_name": {"exact": "%s"}}}]},
          "admin-all": {
            "permissions": [{"any": true}],
            "principals": [{"authenticated": {"principal_name": {"exact": "%s"}}}]}}}
        """.formatted(WEB, ADMIN));

    assertThat(e.evaluate(SimpleRequestView.http("GET", "/items/1").peer(WEB)))
        .isEqualTo(new RbacDecision(true, "web-reads"));
    assertThat(e.evaluate(SimpleRequestView.http("HEAD", "/items/1?q=1").peer(WEB)).allowed()).isTrue();
    assertThat(e.evaluate(SimpleRequestView.http("DELETE", "/items/1").peer(WEB)))
        .isEqualTo(new RbacDecision(false, null));
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/admin").peer(WEB)).allowed()).isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("DELETE", "/admin").peer(ADMIN)))
        .isEqualTo(new RbacDecision(true, "admin-all"));
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/items/1")).allowed())
        .as("plaintext: no authenticated principal").isFalse();
  }

  @Test
  void denyPolicyDeniesWhatItMatchesAndAllowsTheRest() throws Exception {
    RbacEngine e = engine("""
        {"action": "DENY", "policies": {"no-debug": {
          "permissions": [{"url_path": {"path": {"suffix": "/debug"}}}, {"destination_port": 9901}],
          "principals": [{"any": true}]}}}
        """);
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/x/debug"))).isEqualTo(new RbacDecision(false, "no-debug"));
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/x").destinationPort(9901)).allowed()).isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/x").destinationPort(8080)))
        .isEqualTo(new RbacDecision(true, null));
  }

  @Test
  void logPolicyNeverDeniesButReportsTheMatch() throws Exception {
    RbacEngine e = engine("""
        {"action": "LOG", "policies": {"watch": {"permissions": [{"any": true}], "principals": [{"any": true}]}}}
        """);
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/"))).isEqualTo(new RbacDecision(true, "watch"));
  }

  @Test
  void notRulesHeadersAndPresence() throws Exception {
    RbacEngine e = engine("""
        {"action": "ALLOW", "policies": {"p": {
          "permissions": [{"and_rules": {"rules": [
            {"not_rule": {"url_path": {"path": {"exact": "/private"}}}},
            {"header": {"name": "x-tenant", "string_match": {"prefix": "acme-"}}},
            {"not_rule": {"header": {"name": "x-debug", "present_match": true}}}]}}],
          "principals": [{"not_id": {"header": {"name": "User-Agent", "string_match": {"contains": "bot", "ignore_case": true}}}}]}}}
        """);
    SimpleRequestView ok = SimpleRequestView.http("GET", "/public").header("X-Tenant", "acme-1")
        .header("user-agent", "curl");
    assertThat(e.evaluate(ok).allowed()).isTrue();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/private").header("x-tenant", "acme-1")).allowed()).isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/p").header("x-tenant", "evil")).allowed()).isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/p")).allowed()).as("absent header never matches a value")
        .isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/p").header("x-tenant", "acme-1").header("x-debug", "1"))
        .allowed()).isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/p").header("x-tenant", "acme-1").header("user-agent", "GoogleBot"))
        .allowed()).isFalse();
  }

  @Test
  void sourceAndRemoteIpCidrsIncludingIpv6AndMappedIpv4() throws Exception {
    RbacEngine e = engine("""
        {"action": "ALLOW", "policies": {"office": {
          "permissions": [{"any": true}],
          "principals": [{"direct_remote_ip": {"address_prefix": "10.1.0.0", "prefix_len": 16}},
                         {"remote_ip": {"address_prefix": "192.0.2.0", "prefix_len": 25}},
                         {"source_ip": {"address_prefix": "2001:db8::", "prefix_len": 32}}]}}}
        """);
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/").source("10.1.200.3")).allowed()).isTrue();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/").source("10.2.0.1")).allowed()).isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/").source("::ffff:10.1.0.9")).allowed()).isTrue();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/").source("127.0.0.1").forwardedFor("192.0.2.127")).allowed())
        .isTrue();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/").source("127.0.0.1").forwardedFor("192.0.2.128")).allowed())
        .isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/").source("2001:db8:1::7")).allowed()).isTrue();
  }

  @Test
  void behindAProxyProtocolBalancerDirectRemoteIpIsThePeerSourceIpTheHeadersClientRemoteIpAlsoXff() throws Exception {
    RbacEngine direct = engine(allowOnly("direct_remote_ip", "10.0.0.9"));
    RbacEngine source = engine(allowOnly("source_ip", "203.0.113.7"));
    RbacEngine remote = engine(allowOnly("remote_ip", "203.0.113.7"));
    // The balancer 10.0.0.9 connected; its PROXY header names the client 203.0.113.7.
    SimpleRequestView viaBalancer = SimpleRequestView.http("GET", "/").source("10.0.0.9").proxyProtocolSource("203.0.113.7");
    assertThat(direct.evaluate(viaBalancer).allowed()).as("direct_remote_ip is the physical peer").isTrue();
    assertThat(source.evaluate(viaBalancer).allowed()).as("source_ip honors proxy protocol").isTrue();
    assertThat(remote.evaluate(viaBalancer).allowed()).as("remote_ip honors proxy protocol").isTrue();
    // A client forging a header that names the balancer does not pass as the balancer.
    SimpleRequestView forged = SimpleRequestView.http("GET", "/").source("203.0.113.7").proxyProtocolSource("10.0.0.9");
    assertThat(direct.evaluate(forged).allowed()).isFalse();
    // x-forwarded-for moves remote_ip only: source_ip stays the header's client.
    SimpleRequestView xff = SimpleRequestView.http("GET", "/").source("10.0.0.9").proxyProtocolSource("203.0.113.7")
        .forwardedFor("198.51.100.1");
    assertThat(source.evaluate(xff).allowed()).as("source_ip does not honor XFF").isTrue();
    assertThat(remote.evaluate(xff).allowed()).as("remote_ip honors XFF").isFalse();
  }

  private static String allowOnly(String field, String ip) {
    return """
        {"action": "ALLOW", "policies": {"p": {"permissions": [{"any": true}],
          "principals": [{"%s": {"address_prefix": "%s", "prefix_len": 32}}]}}}
        """.formatted(field, ip);
  }

  @Test
  void authenticatedWithoutNameMatchesAnyCertificateAndPrefixMatchesANamespace() throws Exception {
    RbacEngine e = engine("""
        {"action": "ALLOW", "policies": {
          "mtls-any": {"permissions": [{"url_path": {"path": {"exact": "/health"}}}], "principals": [{"authenticated": {}}]},
          "shop-ns": {"permissions": [{"any": true}],
                      "principals": [{"authenticated": {"principal_name": {"safe_regex": {"regex": ".*/ns/shop/.*"}}}}]}}}
        """);
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/health").peer(ADMIN)).policy()).isEqualTo("mtls-any");
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/health")).allowed()).isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("POST", "/x").peer(WEB)).policy()).isEqualTo("shop-ns");
    assertThat(e.evaluate(SimpleRequestView.http("POST", "/x").peer(ADMIN)).allowed()).isFalse();
  }

  @Test
  void portRangesSniAndDestinationIp() throws Exception {
    RbacEngine e = engine("""
        {"action": "ALLOW", "policies": {"p": {
          "permissions": [{"and_rules": {"rules": [
            {"destination_port_range": {"start": 8000, "end": 8100}},
            {"requested_server_name": {"suffix": ".shop.svc"}},
            {"destination_ip": {"address_prefix": "10.0.0.0", "prefix_len": 8}}]}}],
          "principals": [{"any": true}]}}}
        """);
    SimpleRequestView v = new SimpleRequestView().destination("10.3.3.3", 8099).sni("db.shop.svc");
    assertThat(e.evaluate(v).allowed()).isTrue();
    assertThat(e.evaluate(v.destination("10.3.3.3", 8100)).allowed()).isFalse();
    assertThat(e.evaluate(new SimpleRequestView().destination("11.0.0.1", 8000).sni("db.shop.svc")).allowed()).isFalse();
    assertThat(e.evaluate(new SimpleRequestView().destination("10.0.0.1", 8000)).allowed()).as("no SNI").isFalse();
  }

  @Test
  void unsupportedFieldsAreRejectedByPathAndName() {
    assertThatThrownBy(() -> engine("""
        {"action": "ALLOW", "policies": {"p": {
          "permissions": [{"and_rules": {"rules": [{"any": true}, {"uri_template": {"name": "t"}}]}}],
          "principals": [{"filter_state": {"key": "k", "string_match": {"exact": "v"}}}]},
          "q": {"permissions": [], "principals": [{"remote_ip": {"address_prefix": "not-an-ip"}}]}}}
        """)).isInstanceOfSatisfying(ConfigException.class, ex -> assertThat(ex.problems()).containsExactly(
            "rules.policies[\"p\"].permissions[0].and_rules.rules[1].uri_template: not supported by Keelson's RBAC",
            "rules.policies[\"p\"].principals[0].filter_state: not supported by Keelson's RBAC",
            "rules.policies[\"q\"].permissions: at least one permission is required",
            "rules.policies[\"q\"].principals[0].remote_ip: 'not-an-ip' is not an IP address; expected address_prefix"
                + " like 10.0.0.0 with prefix_len 0-32 (0-128 for IPv6)"));
  }

  @Test
  void metadataPrincipalsMatchAVerifiedJwtsRequestPrincipalAndClaims() throws Exception {
    RbacEngine e = engine("""
        {"action": "ALLOW", "policies": {
          "jwt": {"permissions": [{"any": true}], "principals": [{"metadata": {"filter": "istio_authn",
              "path": [{"key": "request.auth.principal"}], "value": {"string_match": {"prefix": "https://idp/"}}}}]},
          "group": {"permissions": [{"metadata": {"filter": "istio_authn",
              "path": [{"key": "request.auth.claims"}, {"key": "groups"}],
              "value": {"list_match": {"one_of": {"string_match": {"exact": "admin"}}}}}}],
            "principals": [{"not_id": {"metadata": {"filter": "istio_authn", "path": [{"key": "request.auth.principal"}],
              "value": {"present_match": true}, "invert": true}}}]}}}
        """);
    io.keelson.dataplane.filter.DynamicMetadata alice = (filter, path) -> !filter.equals("istio_authn") ? null
        : path[0].equals("request.auth.principal") ? "https://idp/alice"
        : path.length == 2 && path[1].equals("groups") ? java.util.List.of("dev", "admin") : null;
    io.keelson.dataplane.filter.DynamicMetadata other = (filter, path) ->
        filter.equals("istio_authn") && path[0].equals("request.auth.principal") ? "https://other/bob" : null;
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/").metadata(alice)).policy()).isEqualTo("group");
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/").metadata(other)).allowed()).isFalse();
    assertThat(e.evaluate(SimpleRequestView.http("GET", "/")).allowed()).isFalse();
    assertThatThrownBy(() -> engine("""
        {"action": "ALLOW", "policies": {"p": {"permissions": [{"any": true}],
          "principals": [{"metadata": {"filter": "istio_authn", "path": [{"key": "k"}]}}]}}}
        """)).isInstanceOfSatisfying(ConfigException.class, ex -> assertThat(ex.problems()).containsExactly(
            "rules.policies[\"p\"].principals[0].metadata.value: a value matcher is required"));
  }

  @Test
  void evaluationAllocatesNothing() throws Exception {
    RbacEngine e = engine("""
        {"action": "ALLOW", "policies": {"p": {
          "permissions": [{"and_rules": {"rules": [{"url_path": {"path": {"prefix": "/a"}}},
                                                   {"header": {"name": ":method", "string_match": {"exact": "GET"}}}]}}],
          "principals": [{"authenticated": {"principal_name": {"exact": "%s"}}}]}}}
        """.formatted(WEB));
    SimpleRequestView v = SimpleRequestView.http("GET", "/a/b").peer(WEB);
    var threads = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
    for (int i = 0; i < 20_000; i++) {
      e.evaluate(v);
    }
    long before = threads.getCurrentThreadAllocatedBytes();
    boolean all = true;
    for (int i = 0; i < 100_000; i++) {
      all &= e.evaluate(v).allowed();
    }
    long allocated = threads.getCurrentThreadAllocatedBytes() - before;
    assertThat(all).isTrue();
    assertThat(allocated).as("bytes allocated by 100k evaluations").isLessThan(64 * 1024);
  }
}
