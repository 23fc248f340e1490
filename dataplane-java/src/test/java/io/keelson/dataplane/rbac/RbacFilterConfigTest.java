package io.keelson.dataplane.rbac;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Any;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.extensions.filters.http.rbac.v3.RBAC;
import io.keelson.dataplane.config.ConfigException;
import org.junit.jupiter.api.Test;

/** The HTTP and network RBAC filter configs: absent rules, shadow rules, typed_config, unsupported options. */
class RbacFilterConfigTest {
  @Test
  void httpFilterEnforcesRulesAndOnlyCountsShadowRules() throws Exception {
    RBAC.Builder b = RBAC.newBuilder();
    JsonFormat.parser().merge("""
        {"rules": {"action": "DENY", "policies": {"no-admin": {
            "permissions": [{"url_path": {"path": {"prefix": "/admin"}}}], "principals": [{"any": true}]}}},
         "shadow_rules": {"action": "ALLOW", "policies": {"gets": {
            "permissions": [{"header": {"name": ":method", "string_match": {"exact": "GET"}}}],
            "principals": [{"any": true}]}}}}
        """, b);
    HttpRbacConfig c = HttpRbacConfig.from(Any.pack(b.build()));

    var get = SimpleRequestView.http("GET", "/admin/x");
    assertThat(c.shadowDecision(get).allowed()).isTrue();
    assertThat(c.enforce(get)).isEqualTo(new RbacDecision(false, "no-admin"));
    var post = SimpleRequestView.http("POST", "/x");
    assertThat(c.shadowDecision(post).allowed()).isFalse();
    assertThat(c.enforce(post).allowed()).as("shadow denial not enforced").isTrue();
    assertThat(c.denied.sum()).isEqualTo(1);
    assertThat(c.allowed.sum()).isEqualTo(1);
    assertThat(c.shadowDenied.sum()).isEqualTo(1);
    assertThat(c.shadowAllowed.sum()).isEqualTo(1);
  }

  @Test
  void httpFilterWithoutRulesAllowsEverything() throws Exception {
    HttpRbacConfig c = HttpRbacConfig.from(RBAC.getDefaultInstance());
    assertThat(c.shadowDecision(SimpleRequestView.http("DELETE", "/"))).as("no shadow rules").isNull();
    assertThat(c.enforce(SimpleRequestView.http("DELETE", "/")).allowed()).isTrue();
    assertThatThrownBy(() -> HttpRbacConfig.from(Any.pack(io.envoyproxy.envoy.config.rbac.v3.RBAC.getDefaultInstance())))
        .hasMessageContaining("expected type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC");
  }

  @Test
  void networkFilterChecksTheConnectionAndRejectsWhatItCannotHonour() throws Exception {
    var b = io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.newBuilder();
    JsonFormat.parser().merge("""
        {"stat_prefix": "tcp.", "rules": {"action": "ALLOW", "policies": {"from-web": {
            "permissions": [{"destination_port": 5432}],
            "principals": [{"authenticated": {"principal_name": {"exact": "spiffe://cluster.local/ns/shop/sa/web"}}}]}}}}
        """, b);
    NetworkRbacConfig c = NetworkRbacConfig.from(b.build());
    assertThat(c.evaluate(new SimpleRequestView().destinationPort(5432).peer("spiffe://cluster.local/ns/shop/sa/web"))
        .allowed()).isTrue();
    assertThat(c.evaluate(new SimpleRequestView().destinationPort(5432)).allowed()).isFalse();

    assertThatThrownBy(() -> NetworkRbacConfig.from(b.clone().setEnforcementType(
        io.envoyproxy.envoy.extensions.filters.network.rbac.v3.RBAC.EnforcementType.CONTINUOUS).build()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("enforcement_type: CONTINUOUS is not supported");
    assertThatThrownBy(() -> NetworkRbacConfig.from(b.clone().clearStatPrefix().build()))
        .hasMessageContaining("stat_prefix");
  }
}
